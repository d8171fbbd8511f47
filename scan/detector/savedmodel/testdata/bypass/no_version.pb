Š
"serve*2.15.0ö
$
serving_default_inputPlaceholder

saver_filenamePlaceholder
^
StatefulPartitionedCallStatefulPartitionedCall**
f%R#
!__inference_signature_wrapper_310
[
StatefulPartitionedCall_1StatefulPartitionedCall*%
f R
__inference__traced_save_402
^
StatefulPartitionedCall_2StatefulPartitionedCall*(
f#R!
__inference__traced_restore_431
'
save/filenamePlaceholderWithDefault

save/SaveV2SaveV2

save/RestoreV2	RestoreV2
'
save/ShardedFilenameShardedFilename

save/StringJoin
StringJoin
-
save/MergeV2CheckpointsMergeV2Checkpoints


hash_tableHashTableV2
+

table_initInitializeTableFromTextFileV2
+
printPrintV2*
output_streamstderr
!
pyPyFunc*
token
pyfunc_0¥
y
#
!__inference_signature_wrapper_310R
StatefulPartitionedCallStatefulPartitionedCall*
fR
__inference_serve_300
À

__inference_serve_300-
dense/MatMul/ReadVariableOpReadVariableOp
dense/MatMulMatMul
dense/BiasAddBiasAdd

dense/ReluRelu
dense_1/SoftmaxSoftmax
IdentityIdentity
€

__inference__traced_save_402,
StaticRegexFullMatchStaticRegexFullMatch
ConstConst
SelectSelect

StringJoin
StringJoin"
ShardedFilenameShardedFilename
SaveV2SaveV2(
MergeV2CheckpointsMergeV2Checkpoints
IdentityIdentity
…
!
__inference__traced_restore_431
	RestoreV2	RestoreV2$
AssignVariableOpAssignVariableOp
NoOpNoOp
IdentityIdentity
Z

__inference_call_77)
eagerEagerPyFunc*
token
pyfunc_1
eager_2EagerPyFunc