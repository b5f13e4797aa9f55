# zlock-emu build fragment (included by the top Makefile). Placeholder until the emulator lands.
.PHONY: emu
emu:
	@mkdir -p $(BUILD)/tests
