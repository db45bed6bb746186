"""Mesa models, one world each, and the science they share."""
