"""The Textual study app: a thin layer over quizzer.session, quizzer.runner and quizzer.grading."""
