"""quizzer: learn PyTorch's sharp edges by predicting what snippets do, checked by running them."""

__version__ = "0.1.0"
