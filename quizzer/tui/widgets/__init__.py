"""Widgets grouped by feature: the card, the answer, the verdict, the grades, the top bar."""
