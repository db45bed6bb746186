"""The knowledge-localization world: where does a change of data change the weights of a network?"""
