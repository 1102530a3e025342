package docsiscfg

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"errors"
	"fmt"
)

// cmtsMICTypes is the order in which top-level TLVs feed the CMTS MIC.
const cmtsMICTypes = "\x01\x02\x03\x04\x11\x2b\x06\x12\x13\x14\x16\x17\x18\x19\x1c\x1d\x1a\x23\x24\x25\x28"

// maxKey is how much of a key file the reference reads.
const maxKey = 64

// KeyFromFile turns the content of a shared-secret key file into the key,
// as the reference does: the first 64 bytes, without trailing CR and LF.
func KeyFromFile(data []byte) []byte {
	if len(data) > maxKey {
		data = data[:maxKey]
	}
	return bytes.TrimRight(data, "\r\n")
}

// CMTSMIC computes the CMTS MIC (TLV 7 value) of the top-level TLVs in tlvs,
// which must include the CM MIC TLV and no end marker.
func CMTSMIC(tlvs, key []byte) ([16]byte, error) {
	var out [16]byte
	// one pass to find the TLVs, then one walk over them per type
	type ref struct {
		code       byte
		start, end int
	}
	var stack [96]ref
	refs := stack[:0]
	err := walkTop(tlvs, false, func(code byte, whole []byte) {
		start := cap(tlvs) - cap(whole)
		refs = append(refs, ref{code, start, start + len(whole)})
	})
	if err != nil {
		return out, err
	}
	h := hmac.New(md5.New, key)
	for i := 0; i < len(cmtsMICTypes); i++ {
		t := cmtsMICTypes[i]
		for _, r := range refs {
			if r.code == t {
				h.Write(tlvs[r.start:r.end])
			}
		}
	}
	h.Sum(out[:0])
	return out, nil
}

// walkTop calls fn for each top-level TLV in buf. In an MTA file, TLV 64
// has a two-byte length.
func walkTop(buf []byte, mta bool, fn func(code byte, whole []byte)) error {
	for i := 0; i < len(buf); {
		code := buf[i]
		if i+1 >= len(buf) {
			return &DecodeError{Offset: i, Msg: fmt.Sprintf("TLV %d has no length byte", code)}
		}
		hdr, n := 2, int(buf[i+1])
		if mta && code == 64 {
			if i+2 >= len(buf) {
				return &DecodeError{Offset: i, Msg: "TLV 64 has no two-byte length"}
			}
			hdr, n = 3, int(buf[i+1])<<8|int(buf[i+2])
		}
		if i+hdr+n > len(buf) {
			return &DecodeError{Offset: i, Msg: fmt.Sprintf("TLV %d length %d runs past the end (%d bytes left)", code, n, len(buf)-i-hdr)}
		}
		if fn != nil {
			fn(code, buf[i:i+hdr+n])
		}
		i += hdr + n
	}
	return nil
}

func (e *encoder) finishCM() ([]byte, error) {
	if err := e.appendTFTPStamp(); err != nil {
		return nil, err
	}
	if e.opts.ExtendedMIC != nil {
		var err error
		if e.buf, err = e.opts.ExtendedMIC.append(e.buf, e.opts.Key); err != nil {
			return nil, err
		}
	}
	sum := md5.Sum(e.buf)
	e.buf = append(e.buf, 6, 16)
	e.buf = append(e.buf, sum[:]...)
	mic, err := CMTSMIC(e.buf, e.opts.Key)
	if err != nil {
		return nil, err
	}
	e.buf = append(e.buf, 7, 16)
	e.buf = append(e.buf, mic[:]...)
	e.buf = append(e.buf, 0xff)
	for len(e.buf)%4 != 0 {
		e.buf = append(e.buf, 0)
	}
	return e.buf, nil
}

// mtaEnd is MtaConfigDelimiter 255, the last TLV of an MTA file.
const mtaEnd = "\xfe\x01\xff"

func (e *encoder) finishMTA() ([]byte, error) {
	if !e.opts.TFTPTimestamp.IsZero() || e.opts.TFTPModemAddress.IsValid() {
		return nil, errors.New("TFTP timestamp and modem address (TLV 19/20): not applicable to an MTA file")
	}
	if e.opts.Hash == HashNone {
		return e.buf, nil
	}
	return AppendMTAHash(e.buf, e.opts.Hash)
}

// AppendMTAHash inserts the SHA-1 config hash of an MTA file as a TLV 11
// varbind before its final MtaConfigDelimiter 255, as -na / -eu do.
func AppendMTAHash(file []byte, h MTAHash) ([]byte, error) {
	if !bytes.HasSuffix(file, []byte(mtaEnd)) {
		return nil, errors.New("MTA config hash: the file must end with MtaConfigDelimiter 255")
	}
	var oid []uint32
	switch h {
	case HashNA: // pktcMtaDevProvConfigHash.0
		oid = []uint32{1, 3, 6, 1, 4, 1, 4491, 2, 2, 1, 1, 2, 7, 0}
	case HashEU:
		oid = []uint32{1, 3, 6, 1, 4, 1, 7432, 1, 1, 2, 9, 0}
	default:
		return nil, fmt.Errorf("MTA config hash: unknown kind %d", h)
	}
	sum := sha1.Sum(file)
	file = file[:len(file)-3]
	at := len(file)
	file = append(file, 11, 0)
	file = appendVarbind(file, oid, snmpValue{tag: berOctetStr, data: sum[:], str: true})
	file[at+1] = byte(len(file) - at - 2)
	return append(file, mtaEnd...), nil
}
