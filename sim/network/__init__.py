"""The station network: what a scenario builds, year by year (`build`), its delivery points and
stops (`points`) and which stations are open on each day of a run (`station_state`).
"""
