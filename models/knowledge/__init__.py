"""The knowledge-localization world: where does a change of data change the weights of a network?"""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="knowledge",
    title="Knowledge localization: where does a change of data change the weights?",
    model="models.knowledge.model:KnowledgeModel",
    params="models.knowledge.params:KnowledgeParams",
    claims="models.knowledge.claims:claims",
    page="models.knowledge.page:knowledge_page",
    figures="models.knowledge.figures:knowledge_figures",
    key_figure="knowledge_digits:scatter.png",
    showcase="knowledge_digits",
    order=6,
)
