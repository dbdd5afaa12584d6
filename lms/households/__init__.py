"""The 建档立卡 household registry: import, validation, history, learner linking."""
