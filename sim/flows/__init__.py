"""The rules parcels and produce follow: orders (`demand`), the county warehouse (`warehouse`),
route plans (`routes`) and van trips (`trips`), unloading (`unload`), collection (`pickup`),
produce going up (`produce`) and faults (`faults`).
"""
