"""Claims of the cited papers that the current world can test."""
def claims():
    return []
