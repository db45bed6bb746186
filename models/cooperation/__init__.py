"""The cooperation world: humans and AIs with hashed IDs, wallets, reputation and votes on a ledger."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="cooperation",
    title="Humans and AIs with hashed IDs, wallets, reputation and votes on a ledger",
    model="models.cooperation.model:CooperationModel",
    params="models.cooperation.params:CooperationParams",
    claims="models.cooperation.claims:claims",
    page="models.cooperation.page:cooperation_page",
    figures="models.cooperation.figures:cooperation_figures",
    key_figure="cooperation_dystopia_exponential:cooperation.png",
    showcase="cooperation_guidelines",
    order=7,
)
