"""Benign fixtures for the pickle detector, written by the real libraries.

Run with Debian's python3 (python3-torch, -numpy, -sklearn, -joblib):

    /usr/bin/python3 testdata/gen.py testdata/benign

It saves models the ways users do (torch.save zip and legacy, TorchScript,
numpy pickles and object arrays, scikit-learn through pickle and joblib,
plain and compressed) into a temporary directory, then writes every pickle
stream those files contain into the output directory: zip members, the
pickle inside object .npy files, inflated joblib containers, and plain
pickle and legacy files as they are. Files over 32 KiB are skipped to keep
the repository small. A SHA256SUMS manifest is written beside them.
"""
import os, io, pickle, sys, zipfile, collections, datetime, decimal, fractions, warnings
import hashlib, struct, tempfile, zlib, gzip, bz2, lzma, shutil
warnings.filterwarnings("ignore")
import numpy as np, torch, torch.nn as nn, joblib
DEST = sys.argv[1]
OUT = tempfile.mkdtemp()
os.makedirs(OUT, exist_ok=True)
def w(name, data):
    with open(os.path.join(OUT, name), "wb") as f: f.write(data)
torch.manual_seed(0); np.random.seed(0)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3); self.bn = nn.BatchNorm2d(2); self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2); self.flat = nn.Flatten(); self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8, 2); self.seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.Softmax(dim=-1), nn.LayerNorm(2))
        self.emb = nn.Embedding(4, 2); self.lstm = nn.LSTM(2, 2, batch_first=True); self.gru = nn.GRU(2,2)
        self.ml = nn.ModuleList([nn.Identity(), nn.LeakyReLU(), nn.Conv1d(1,1,1), nn.BatchNorm1d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.SiLU(), nn.GroupNorm(1,2), nn.MultiheadAttention(2,1), nn.TransformerEncoderLayer(4,1,dim_feedforward=4), nn.ConvTranspose2d(1,1,1), nn.Dropout2d(), nn.ELU(), nn.Mish(), nn.Hardswish(), nn.PReLU(), nn.Unflatten(1,(1,1)), nn.Upsample(scale_factor=2), nn.ZeroPad2d(1), nn.ModuleDict({"a": nn.Linear(1,1)})])
        self.register_buffer("buf", torch.zeros(2))
        self.pl = nn.ParameterList([nn.Parameter(torch.ones(1))])
    def forward(self, x): return self.fc(x)
m = Net()
sd = m.state_dict()
b = io.BytesIO(); torch.save(sd, b); w("torch_state_dict.pt", b.getvalue())
# A whole-module save of a user-defined class imports that class (here
# __main__.Net), which the detector reports as unknown by design; the whole
# module fixtures therefore use torch.nn classes only.
whole = nn.Sequential(collections.OrderedDict(m.named_children()))
b = io.BytesIO(); torch.save(whole, b); w("torch_module.pt", b.getvalue())
b = io.BytesIO(); torch.save(sd, b, _use_new_zipfile_serialization=False); w("torch_legacy_state_dict.pt", b.getvalue())
b = io.BytesIO(); torch.save(whole, b, _use_new_zipfile_serialization=False); w("torch_legacy_module.pt", b.getvalue())
small = nn.Linear(2, 2)
b = io.BytesIO(); torch.save(small.state_dict(), b, _use_new_zipfile_serialization=False); w("torch_legacy_linear.pt", b.getvalue())
b = io.BytesIO(); torch.save(small.state_dict(), b); w("torch_linear.pt", b.getvalue())
dt = {str(d): torch.zeros(2, dtype=d) for d in [torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128]}
dt["sparse"] = torch.zeros(3, 3).to_sparse(); dt["csr"] = torch.eye(3).to_sparse_csr()
dt["q"] = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
dt["qc"] = torch.quantize_per_channel(torch.ones(2, 2), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8)
dt["dev"] = torch.device("cpu"); dt["size"] = torch.Size([1, 2]); dt["dtype"] = torch.float32; dt["param"] = nn.Parameter(torch.ones(2))
dt["meta"] = torch.empty(2, device="meta")
dt["od"] = collections.OrderedDict(a=1); dt["nograd"] = torch.ones(2, requires_grad=True)
pickle_extra = {"layout": torch.sparse_coo, "memfmt": torch.channels_last, "qs": torch.per_tensor_affine}
b = io.BytesIO(); torch.save(dt, b); w("torch_dtypes.pt", b.getvalue())
b = io.BytesIO(); torch.save(dt, b, _use_new_zipfile_serialization=False); w("torch_legacy_dtypes.pt", b.getvalue())
w("torch_misc.pkl", pickle.dumps(pickle_extra))
opt = torch.optim.Adam(m.parameters()); m(torch.ones(1, 8)).sum().backward(); opt.step()
sch = torch.optim.lr_scheduler.StepLR(opt, 1)
b = io.BytesIO(); torch.save({"model": sd, "optim": opt.state_dict(), "sched": sch.state_dict(), "epoch": 3, "args": {"lr": 1e-3}}, b); w("torch_checkpoint.pt", b.getvalue())
b = io.BytesIO(); torch.save({"optimizer": opt, "scheduler": sch}, b); w("torch_optim_objects.pt", b.getvalue())
ts = torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
b = io.BytesIO(); torch.jit.save(ts, b); w("torchscript.pt", b.getvalue())
tr = torch.jit.trace(nn.Linear(2,2), torch.ones(1,2))
b = io.BytesIO(); torch.jit.save(tr, b); w("torchscript_trace.pt", b.getvalue())
# numpy
arrs = {"f": np.arange(6, dtype=np.float32).reshape(2, 3), "o": np.array([1, "a", None, {"k": 1}], dtype=object),
        "s": np.float64(1.5), "i": np.int64(3), "st": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
        "dt": np.array(["2020-01-01"], dtype="datetime64[D]"), "u": np.array(["x"]), "b": np.bool_(True),
        "f16": np.zeros(2, np.float16), "c": np.zeros(2, np.complex128), "ma": np.ma.array([1, 2], mask=[0, 1]),
        "fortran": np.asfortranarray(np.ones((2, 2))), "rs": np.random.RandomState(0), "gen": np.random.default_rng(0),
        "nan": float("nan")}
for p in (2, 4, 5):
    w(f"numpy_p{p}.pkl", pickle.dumps(arrs, protocol=p))
b = io.BytesIO(); np.save(b, np.array([1, "a", None], dtype=object), allow_pickle=True); w("numpy_object.npy", b.getvalue())
b = io.BytesIO(); np.savez(b, a=np.array([{"x": 1}], dtype=object), n=np.zeros(2)); w("numpy_object.npz", b.getvalue())
# builtins
bi = {"set": {1, 2}, "fs": frozenset([1]), "ba": bytearray(b"x"), "c": 1j, "r": range(3), "sl": slice(1, 2), "by": b"x",
      "dt": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), "d": datetime.date(2020, 1, 1), "td": datetime.timedelta(1),
      "t": datetime.time(1), "dec": decimal.Decimal("1.5"), "fr": fractions.Fraction(1, 3), "od": collections.OrderedDict(a=1),
      "dd": collections.defaultdict(list, a=[1]), "cnt": collections.Counter("ab"), "dq": collections.deque([1]),
      "nt": None, "e": Ellipsis, "ni": NotImplemented}
for p in range(6):
    try: w(f"builtins_p{p}.pkl", pickle.dumps(bi, protocol=p))
    except Exception as e: print("builtins", p, e)
# sklearn
from sklearn import linear_model, tree, ensemble, preprocessing, pipeline, svm, cluster, decomposition, neighbors, naive_bayes, neural_network, feature_extraction, compose, impute, feature_selection, model_selection, calibration
X = np.random.rand(40, 4); y = (X[:, 0] > .5).astype(int); yr = X[:, 1]
txt = ["alpha beta gamma", "beta gamma delta", "gamma delta eps", "alpha eps"] * 10
ests = {
 "logreg": linear_model.LogisticRegression(), "linreg": linear_model.LinearRegression(), "ridge": linear_model.Ridge(),
 "lasso": linear_model.Lasso(), "sgd": linear_model.SGDClassifier(), "elastic": linear_model.ElasticNet(),
 "dtc": tree.DecisionTreeClassifier(), "dtr": tree.DecisionTreeRegressor(), "rfc": ensemble.RandomForestClassifier(n_estimators=3),
 "rfr": ensemble.RandomForestRegressor(n_estimators=3), "gbc": ensemble.GradientBoostingClassifier(n_estimators=3),
 "gbr": ensemble.GradientBoostingRegressor(n_estimators=3), "hgb": ensemble.HistGradientBoostingClassifier(max_iter=3),
 "hgbr": ensemble.HistGradientBoostingRegressor(max_iter=3),
 "etc": ensemble.ExtraTreesClassifier(n_estimators=3), "ada": ensemble.AdaBoostClassifier(n_estimators=3),
 "bag": ensemble.BaggingClassifier(n_estimators=2), "iso": ensemble.IsolationForest(n_estimators=3),
 "vote": ensemble.VotingClassifier([("a", linear_model.LogisticRegression()), ("b", tree.DecisionTreeClassifier())]),
 "svc": svm.SVC(), "svr": svm.SVR(), "lsvc": svm.LinearSVC(), "km": cluster.KMeans(n_clusters=2, n_init=1), "dbscan": cluster.DBSCAN(),
 "pca": decomposition.PCA(2), "tsvd": decomposition.TruncatedSVD(2), "knn": neighbors.KNeighborsClassifier(),
 "knr": neighbors.KNeighborsRegressor(), "gnb": naive_bayes.GaussianNB(), "mnb": naive_bayes.MultinomialNB(),
 "mlp": neural_network.MLPClassifier(max_iter=5), "mlpr": neural_network.MLPRegressor(max_iter=5),
 "pipe": pipeline.Pipeline([("sc", preprocessing.StandardScaler()), ("mm", preprocessing.MinMaxScaler()), ("rs", preprocessing.RobustScaler()), ("ma", preprocessing.MaxAbsScaler()), ("nm", preprocessing.Normalizer()), ("imp", impute.SimpleImputer()), ("poly", preprocessing.PolynomialFeatures()), ("kb", feature_selection.SelectKBest(k=2)), ("vt", feature_selection.VarianceThreshold()), ("clf", linear_model.LogisticRegression())]),
 "cal": calibration.CalibratedClassifierCV(cv=2),
 "gs": model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [1, 2]}, cv=2),
}
fitted = {}
for k, e in ests.items():
    try:
        e.fit(X, yr if k in ("linreg", "ridge", "lasso", "elastic", "dtr", "rfr", "gbr", "svr", "knr", "mlpr", "hgbr") else y)
    except TypeError:
        e.fit(X)
    fitted[k] = e
tf = feature_extraction.text.TfidfVectorizer().fit(txt); cv = feature_extraction.text.CountVectorizer().fit(txt)
ohe = preprocessing.OneHotEncoder().fit([["a"], ["b"]]); le = preprocessing.LabelEncoder().fit(["a", "b"])
ordn = preprocessing.OrdinalEncoder().fit([["a"], ["b"]]); lb = preprocessing.LabelBinarizer().fit([0, 1, 2])
ct = compose.ColumnTransformer([("n", preprocessing.StandardScaler(), [0, 1]), ("p", "passthrough", [2])]).fit(X)
fu = pipeline.FeatureUnion([("p", decomposition.PCA(1)), ("s", preprocessing.StandardScaler())]).fit(X)
hv = feature_extraction.text.HashingVectorizer(); dv = feature_extraction.DictVectorizer().fit([{"a": 1}])
fitted.update(tfidf=tf, count=cv, ohe=ohe, le=le, ordinal=ordn, lb=lb, ct=ct, fu=fu, hv=hv, dv=dv,
  fn=preprocessing.FunctionTransformer(), kbd=preprocessing.KBinsDiscretizer(n_bins=2).fit(X), pt=preprocessing.PowerTransformer().fit(X), qt=preprocessing.QuantileTransformer(n_quantiles=10).fit(X))
for k, e in fitted.items():
    w(f"sk_{k}.pkl", pickle.dumps(e))
    joblib.dump(e, os.path.join(OUT, f"sk_{k}.joblib"))
joblib.dump(fitted["rfc"], os.path.join(OUT, "sk_rfc_z.joblib"), compress=3)
joblib.dump(fitted["pipe"], os.path.join(OUT, "sk_pipe_gz.joblib"), compress=("gzip", 3))
joblib.dump(fitted["logreg"], os.path.join(OUT, "sk_logreg_xz.joblib"), compress=("xz", 3))
joblib.dump(fitted["logreg"], os.path.join(OUT, "sk_logreg_lzma.joblib"), compress=("lzma", 3))
joblib.dump(fitted["logreg"], os.path.join(OUT, "sk_logreg_bz2.joblib"), compress=("bz2", 3))
joblib.dump(arrs, os.path.join(OUT, "joblib_numpy.joblib"))
joblib.dump([np.array([1, "a"], dtype=object), np.zeros(3)], os.path.join(OUT, "joblib_objarr.joblib"))
w("sk_logreg_p2.pkl", pickle.dumps(fitted["logreg"], protocol=2))
w("sk_logreg_p0.pkl", pickle.dumps(fitted["logreg"], protocol=0))
w("sk_rfc_p5.pkl", pickle.dumps(fitted["rfc"], protocol=5))


MAXSIZE = 32 << 10
os.makedirs(DEST, exist_ok=True)
def emit(name, data):
    if len(data) <= MAXSIZE:
        with open(os.path.join(DEST, name), "wb") as f: f.write(data)
def npy_pickle(data):
    if not data.startswith(b"\x93NUMPY"): return None
    hl, hs = (struct.unpack("<H", data[8:10])[0], 10) if data[6] == 1 else (struct.unpack("<I", data[8:12])[0], 12)
    if b"'|O'" not in data[hs:hs+hl]: return None
    return data[hs+hl:]
for fn in sorted(os.listdir(OUT)):
    data = open(os.path.join(OUT, fn), "rb").read()
    if data[:4] == b"PK\x03\x04":
        z = zipfile.ZipFile(io.BytesIO(data))
        for n in z.namelist():
            d = z.read(n)
            if n.endswith(".npy"):
                d = npy_pickle(d)
                if d: emit(f"{fn}!{os.path.basename(n)}.pkl", d)
            elif d[:1] == b"\x80" and "/data/" not in n:  # not raw storages
                emit(f"{fn}!{os.path.basename(n)}", d)
    elif data.startswith(b"\x93NUMPY"):
        d = npy_pickle(data)
        if d: emit(fn + ".pkl", d)
    elif fn.endswith(".joblib") and data[:1] != b"\x80":
        for dec in (zlib.decompress, gzip.decompress, bz2.decompress, lzma.decompress):
            try:
                emit(fn + ".pkl", dec(data)); break
            except Exception:
                pass
    else:
        emit(fn, data)
shutil.rmtree(OUT)
with open(os.path.join(DEST, "SHA256SUMS"), "w") as f:
    for fn in sorted(os.listdir(DEST)):
        if fn != "SHA256SUMS":
            f.write(hashlib.sha256(open(os.path.join(DEST, fn), "rb").read()).hexdigest() + "  " + fn + "\n")
