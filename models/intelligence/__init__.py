"""The intelligence-density world: who may exterminate whom on the intelligence line."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="intelligence",
    title="Intelligence density: who may exterminate whom on the intelligence line",
    model="models.intelligence.model:IntelligenceModel",
    params="models.intelligence.params:IntelligenceParams",
    claims="models.intelligence.claims:claims",
    page="models.intelligence.page:intelligence_page",
    figures="models.intelligence.figures:intelligence_figures",
    key_figure="intelligence_retire_versions:history.png",
    showcase="intelligence_keep_versions",
    order=5,
)
