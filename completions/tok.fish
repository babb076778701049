complete --keep-order --exclusive --command tok --arguments "(COMPLETE=fish tok -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
