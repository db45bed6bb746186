"""The intelligence-density world: who may exterminate whom on the intelligence line."""
