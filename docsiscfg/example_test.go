package docsiscfg_test

import (
	"fmt"
	"log"
	"strings"

	"ip6m/docsiscfg"
)

func ExampleEncode() {
	src := []byte(`Main {
	NetworkAccess 1;
	MaxCPE 2;
	SnmpMibObject sysContact.0 String "noc@example.net";
}`)
	bin, err := docsiscfg.Encode(src, docsiscfg.Options{Key: []byte("sharedsecret42")})
	if err != nil {
		log.Fatal(err)
	}
	text, err := docsiscfg.Decode(bin, docsiscfg.DecodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	// the decoder writes "Main " with a trailing space, as the reference does
	fmt.Printf("%d bytes\n%s", len(bin), strings.ReplaceAll(string(text), " \n", "\n"))
	// Output:
	// 76 bytes
	// Main
	// {
	// 	NetworkAccess 1;
	// 	MaxCPE 2;
	// 	SnmpMibObject sysContact.0 String "noc@example.net";
	// 	/* CmMic 446c039b681b5b73c3985d43ba5276d3; */
	// 	/* CmtsMic 9177da02fe30338ea000365d2fd66fc8; */
	// 	/*EndOfDataMkr*/
	// 	/* Pad */
	// }
}

func ExampleTemplate_Compile() {
	plan, err := docsiscfg.ParseTemplate("resi-50", `Main {
	NetworkAccess 1;
	MaxCPE {{.MaxCPE}};
	DsServiceFlow { DsServiceFlowRef 1; QosParamSetType 7; MaxRateSustained {{.DownBps}}; }
}`)
	if err != nil {
		log.Fatal(err)
	}
	bin, err := plan.Compile(docsiscfg.Vars{MaxCPE: 3, DownBps: 50000000}, []byte("sharedsecret42"))
	if err != nil {
		log.Fatal(err)
	}
	check, err := docsiscfg.VerifyMICs(bin, []byte("sharedsecret42"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(check)
	_, err = plan.Compile(docsiscfg.Vars{MaxCPE: 0}, nil)
	fmt.Println(err)
	// Output:
	// CM MIC ok
	// CMTS MIC ok
	// plan resi-50: rendered line 3 ("MaxCPE 0;"): line 3, column 9: MaxCPE: 0 is out of range 1..254 at "0"
}
