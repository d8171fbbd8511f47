package inspect

import (
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
)

type onnxpbNode = onnxpb.NodeProto

// onnxElemType names an ONNX TensorProto data type in lower case ("float",
// "int64", ...).
func onnxElemType(t int32) string {
	if n, ok := onnxpb.TensorProto_DataType_name[t]; ok {
		return strings.ToLower(n)
	}
	return "type" + strconv.Itoa(int(t))
}

// onnxIO describes graph inputs or outputs as "elem[dim,dim]", leaving out
// inputs that are initializers (IR < 4 lists weights as inputs too).
func onnxIO(vs []*onnxpb.ValueInfoProto, inits []*onnxpb.TensorProto) []IO {
	skip := map[string]bool{}
	for _, t := range inits {
		skip[t.GetName()] = true
	}
	var out []IO
	for _, v := range vs {
		if skip[v.GetName()] {
			continue
		}
		out = append(out, IO{Name: v.GetName(), Type: onnxType(v.GetType())})
		if len(out) >= 64 {
			break
		}
	}
	return out
}

func onnxType(t *onnxpb.TypeProto) string {
	tt := t.GetTensorType()
	if tt == nil {
		switch {
		case t.GetSequenceType() != nil:
			return "sequence"
		case t.GetMapType() != nil:
			return "map"
		case t.GetOptionalType() != nil:
			return "optional"
		case t.GetSparseTensorType() != nil:
			return "sparse_tensor"
		}
		return ""
	}
	var b strings.Builder
	b.WriteString(onnxElemType(tt.GetElemType()))
	if s := tt.GetShape(); s != nil {
		b.WriteByte('[')
		for i, d := range s.GetDim() {
			if i > 0 {
				b.WriteByte(',')
			}
			switch {
			case d.GetDimParam() != "":
				b.WriteString(d.GetDimParam())
			case d.GetDimValue() > 0:
				b.WriteString(strconv.FormatInt(d.GetDimValue(), 10))
			default:
				b.WriteByte('?')
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}
