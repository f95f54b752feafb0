"""The kit's GRPO trainer (see `omni_r1_lite.grpo.trainer`)."""
