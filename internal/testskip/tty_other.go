//go:build !unix

package testskip

import "io"

// openTerminal finds no terminal outside Unix: the summary goes to stdout only.
func openTerminal() io.WriteCloser { return nil }
