package main

import (
	"context"
	"fmt"

	"github.com/inkan-dev/inkan/internal/keys"
)

func jwk(_ context.Context, std stdio, args []string) error {
	fs := newFlags(std, "jwk", "jwk [--kid K] [--alg A] FILE.pem   (FILE \"-\" reads stdin)\n\n"+
		"Prints a JWKS holding the public key of a PEM file (PKCS#1, PKCS#8, SEC1,\n"+
		"SPKI or a certificate; RSA, EC P-256/P-384/P-521, Ed25519), as pem-jwk does.\n"+
		"Private parts are never printed.")
	var kid, alg string
	fs.StringVar(&kid, "kid", "", "key id (default: the RFC 7638 thumbprint)")
	fs.StringVar(&alg, "alg", "", algUsage)
	pos, err := parse(std, fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: jwk takes one PEM file", errUsage)
	}
	data, err := readInput(std.in, pos[0])
	if err != nil {
		return err
	}
	out, err := keys.JWKSFromPEM(data, kid, alg)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	_, err = std.out.Write(out)
	return err
}
