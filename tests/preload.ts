// Loaded before every test file (bunfig.toml). Keeps test logs quiet unless asked for.
process.env.KILN_TEST = '1'
