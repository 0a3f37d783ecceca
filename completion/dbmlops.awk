# The options of a dbmlops tool, read from its --help: one line each,
# "ARG<tab>NAME ...<tab>HELP": ARG the word of the argument ("-" for none;
# "a|b" lists the choices), then the spellings of the option and the first
# line of its help. Embedded in the bash and zsh
# completions by make (no single quote in here), so that completion follows
# what each tool says of itself.
# a label too wide for its column has its help on the next line
held != "" && !/^  +-/ {
	sub(/^ +/, "")
	print held $0
	held = ""
	next
}
held != "" {
	print held
	held = ""
}
/^  +-/ {
	line = $0
	sub(/^ +/, "", line)
	names = ""
	while (match(line, /^-[^ ,]+,? ?/)) {
		tok = substr(line, 1, RLENGTH)
		line = substr(line, RLENGTH + 1)
		gsub(/[, ]/, "", tok)
		names = names " " tok
	}
	arg = "-"
	if (match(line, /^[^ ]+(  |$)/)) {
		arg = substr(line, 1, RLENGTH)
		line = substr(line, RLENGTH + 1)
		sub(/ +$/, "", arg)
	}
	sub(/^ +/, "", line)
	if (line == "")
		held = arg "\t" substr(names, 2) "\t"
	else
		print arg "\t" substr(names, 2) "\t" line
}
END {
	if (held != "")
		print held
}
