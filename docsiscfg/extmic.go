package docsiscfg

import (
	"crypto/hmac"
	"crypto/md5"
	"fmt"
)

// ExtendedMIC configures the DOCSIS 3.0 Extended CMTS MIC (TLV 43.6), which
// the reference compiler cannot produce.
type ExtendedMIC struct {
	// HMAC is the Extended CMTS MIC HMAC type (43.6.1): HMACMD5 is
	// supported; MMH16-σ-n (2) needs the DOCSIS MMH function and is refused.
	HMAC uint8
	// Types lists the top-level TLV types covered by the digest; they form
	// the bitmap 43.6.2 (bit 0 is the most significant bit of the first
	// byte, bit t stands for TLV type t).
	Types []uint8
	// Explicit adds the digest itself as 43.6.3 (Explicit E-CMTS MIC Digest).
	Explicit bool
}

// Extended CMTS MIC HMAC types (TLV 43.6.1).
const (
	HMACMD5   uint8 = 1
	HMACMMH16 uint8 = 2
)

// Bitmap returns the 43.6.2 bitmap: just long enough for the highest type.
func (x *ExtendedMIC) Bitmap() []byte {
	hi := 0
	for _, t := range x.Types {
		hi = max(hi, int(t))
	}
	b := make([]byte, hi/8+1)
	for _, t := range x.Types {
		b[t/8] |= 0x80 >> (t % 8)
	}
	return b
}

// Digest computes the extended digest of the top-level TLVs in tlvs: the
// HMAC with key over every TLV whose type is in the bitmap, whole (type,
// length, value), in file order.
func (x *ExtendedMIC) Digest(tlvs, key []byte) ([]byte, error) {
	if x.HMAC != HMACMD5 {
		return nil, fmt.Errorf("extended CMTS MIC: HMAC type %d is not supported (only 1, MD5 HMAC)", x.HMAC)
	}
	var set [256]bool
	for _, t := range x.Types {
		set[t] = true
	}
	h := hmac.New(md5.New, key)
	err := walkTop(tlvs, false, func(code byte, whole []byte) {
		if set[code] {
			h.Write(whole)
		}
	})
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// append adds TLV 43 with the 43.6 encoding to the TLVs of a CM file.
func (x *ExtendedMIC) append(tlvs, key []byte) ([]byte, error) {
	if len(x.Types) == 0 {
		return nil, fmt.Errorf("extended CMTS MIC: no TLV types to cover")
	}
	bitmap := x.Bitmap()
	var digest []byte
	if x.Explicit {
		var err error
		if digest, err = x.Digest(tlvs, key); err != nil {
			return nil, err
		}
	} else if x.HMAC != HMACMD5 {
		return nil, fmt.Errorf("extended CMTS MIC: HMAC type %d is not supported (only 1, MD5 HMAC)", x.HMAC)
	}
	inner := 3 + 2 + len(bitmap)
	if x.Explicit {
		inner += 2 + len(digest)
	}
	tlvs = append(tlvs, 43, byte(inner+2), 6, byte(inner), 1, 1, x.HMAC, 2, byte(len(bitmap)))
	tlvs = append(tlvs, bitmap...)
	if x.Explicit {
		tlvs = append(tlvs, 3, byte(len(digest)))
		tlvs = append(tlvs, digest...)
	}
	return tlvs, nil
}
