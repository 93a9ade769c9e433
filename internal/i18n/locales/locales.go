// Package locales holds inkan's message catalogues, one flat JSON object of
// "key": "text" per language (en.json, ja.json), with {name} placeholders:
// files a translator can edit.
package locales

import "embed"

// FS holds the catalogues, named by language: en.json, ja.json.
//
//go:embed *.json
var FS embed.FS
