"""The programme's money and the people it pays: station operators' accounts (`operators`), the
subsidy rules engine and its ledger (`subsidies`) and the programme observer that ties them to a
run (`programme`).
"""
