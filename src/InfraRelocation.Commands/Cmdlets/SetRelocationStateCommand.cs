using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Set-RelocationState: moves active_relocation.state one step (planning → preflight → cutover → cleanup → complete),
/// or one step back with -Rollback (capability infra.relocation.state.transition). Cutover, cleanup and complete
/// prompt for confirmation by default.
/// </summary>
[Cmdlet(VerbsCommon.Set, "RelocationState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RelocationStateReceipt))]
public sealed class SetRelocationStateCommand : TransitionCmdlet
{
    /// <summary>The state to move to.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public RelocationState State { get; set; }

    /// <summary>Records the approval (active_relocation.approved_by) when entering cutover.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApprovedBy { get; set; }

    /// <summary>Accept an approver who is the user running the command or the relocation owner (recorded in the receipt).</summary>
    [Parameter]
    public SwitchParameter AllowSelfApproval { get; set; }

    /// <summary>Step back one state (cutover → preflight, preflight → planning): an abort.</summary>
    [Parameter]
    public SwitchParameter Rollback { get; set; }

    protected override string Capability => "infra.relocation.state.transition";

    protected override void ProcessRecord()
    {
        var request = new StateTransitionRequest(State)
        {
            Rollback = Rollback,
            ApprovedBy = ApprovedBy,
            AllowSelfApproval = AllowSelfApproval,
            ForceReason = Force ? Reason : null,
        };
        var target = RelocationStateMachine.Yaml(State);
        Transition(
            new RelocationStateReceipt { Subject = "relocation", After = target, Rollback = Rollback, ApprovedBy = ApprovedBy },
            (estate, env) => TransitionPlanner.PlanState(estate, request, env),
            target,
            highImpact: State is RelocationState.Cutover or RelocationState.Cleanup or RelocationState.Complete);
    }
}
