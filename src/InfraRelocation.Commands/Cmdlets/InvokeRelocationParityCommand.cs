using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Invoke-RelocationParity: D35 cross-file parity and D37 placement (capability infra.relocation.parity).</summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationParity")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class InvokeRelocationParityCommand : GateCmdlet
{
    protected override string Capability => "infra.relocation.parity";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate) =>
        [ParityGate.Evaluate(estate), PlacementGate.Evaluate(estate)];
}
