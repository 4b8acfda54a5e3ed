"""The engines' building blocks, with no model in them: parcels as columns (`batch`), time
helpers (`clock`), typed events and their bus (`events`), compiled loops (`kernels`) and the
numbers that must not collide (`ids`: random streams, delivery-point types).
"""
