"""LSTMs from the ground up."""
