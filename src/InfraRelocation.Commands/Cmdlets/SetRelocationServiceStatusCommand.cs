using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Set-RelocationServiceStatus: moves one service's status along the service status table
/// (capability infra.relocation.service.transition); the service registry's host follows in the same transaction.
/// </summary>
[Cmdlet(VerbsCommon.Set, "RelocationServiceStatus", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ServiceStatusReceipt))]
public sealed class SetRelocationServiceStatusCommand : TransitionCmdlet
{
    /// <summary>The service (services[].service); binds by property name from Get-RelocationManifest's Services.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ServiceCompleter))]
    public string Service { get; set; } = "";

    /// <summary>The new status: an enum name (RolledBack) or its YAML spelling (rolled-back).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(StatusCompleter))]
    public string Status { get; set; } = "";

    /// <summary>
    /// The stack registry's deploy_target and the health binding's host follow in the same transaction (as the service
    /// registry always does), so the receipt records their values before the move: what Invoke-RelocationRollback writes back.
    /// </summary>
    [Parameter]
    public SwitchParameter UpdateSsot { get; set; }

    /// <summary>Each piped item is its own transaction: a refused item is a non-terminating error.</summary>
    protected override bool StopOnItemError => false;

    protected override string PlanNoun => "service";

    protected override string Capability => LedgerView.ServiceCapability;

    protected override void ProcessRecord()
    {
        var status = ServiceStatusMachine.Parse(Status);
        if (status is null)
        {
            Fail("InvalidServiceStatus", FailureKind.InvalidArgument,
                $"'{Status}' is not a service status. Valid: the protocol's planned, cutover, migrated, complete, and shadow, applied (= migrated), rolled-back (or RolledBack).", Status);
            return;
        }
        var request = new ServiceTransitionRequest(Service, status.Value) { Force = Force, ForceReason = Force ? Reason : null, UpdateSsot = UpdateSsot };
        Transition(
            new ServiceStatusReceipt { Subject = Service, Service = Service, After = ServiceStatusMachine.Yaml(status.Value) },
            (estate, env) => TransitionPlanner.PlanService(estate, request, env),
            Service,
            highImpact: false,
            editing: TransitionPlanner.FilesEdited(Layout, request));
    }
}
