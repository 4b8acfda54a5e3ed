"""Running a scenario: what both engines share (`model`); the lifecycle they share, what a run
returns and the engines' Protocols (`base`); the two engines (`fast`, `reference`); how they run
on past the horizon (`runon`); the registry a scenario names an engine from (`registry`).
"""
