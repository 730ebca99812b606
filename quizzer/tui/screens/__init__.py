"""Screens: one per place the learner can be (studying, help, stats, summaries)."""
