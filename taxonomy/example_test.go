package taxonomy_test

import (
	"errors"
	"fmt"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/taxonomy"
)

func ExampleCatalogues_Validate() {
	cats, err := taxonomy.Load()
	if err != nil {
		panic(err)
	}
	for _, m := range []mlsec.Mapping{
		{Framework: "mitre-atlas", ID: "AML.T0010.003"},
		{Framework: "mitre-atlas", ID: "AML.T9999"},
		{Framework: "owasp-ml-2021", ID: "ML06"},
	} {
		err := cats.Validate(m)
		fmt.Println(err == nil, errors.Is(err, taxonomy.ErrUnknownFramework), errors.Is(err, taxonomy.ErrUnknownID))
	}
	fmt.Println(cats.Title("mitre-atlas", "AML.T0010.003"))
	it, _ := cats.Lookup("nist-ssdf-1.1", "PW.3.1")
	fmt.Println(it.Kind, it.Parent, it.Source)
	// Output:
	// true false false
	// false false true
	// false true false
	// AI Supply Chain Compromise: Model
	// task PW.3 SP 800-218A
}
