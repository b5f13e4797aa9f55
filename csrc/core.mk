# C core build fragment (included by the top Makefile). Placeholder until the core lands.
.PHONY: core
core:
	@mkdir -p $(BUILD)/$(LUA)/zlock
