"""Numerical kernels (numpy): what no library does, written once and shared by estimators."""
