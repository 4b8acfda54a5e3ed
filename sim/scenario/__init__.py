"""What a scenario file may say: the schema (`schema`, with the delivery sections in `delivery`
and the programme's in `policy`), reading files with `extends:` and `--set` (`load`) and the
one-line problems (`messages`).
"""
