"""``python -m omni_r1_lite.data.omnisynth OUT_DIR [...]``: generate OmniSynth (see `writer.main`)."""

from omni_r1_lite.data.omnisynth.writer import main

raise SystemExit(main())
