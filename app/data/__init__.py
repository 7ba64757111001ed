"""Photos and what training and evaluation draw from them: the manifest and its fetcher,
the held-out split, the data set, hole masks, sketches and the step sampler."""
