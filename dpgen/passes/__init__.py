"""The passes: each maps IR to IR (reverse mode, forward mode, simplification, HVP).

Passes read the rule table and the analyses; they never import the front end or rendering.
"""
