"""audiences: a nightly batch warehouse for unified customer profiles and email segments."""

__version__ = "0.1.0"
