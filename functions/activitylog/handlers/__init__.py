"""Lambda entry points: parse the request, call one logic function, return a model."""
