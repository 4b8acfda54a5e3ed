"""Where: regions, distances and station placement. Imports neither sim nor analysis."""
