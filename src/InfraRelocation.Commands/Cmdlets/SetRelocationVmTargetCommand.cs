using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Set-RelocationVmTarget: status, LAN address and tailscale IP of one VM target (capability
/// infra.relocation.vm.target). Keys missing from the entry are added; everything else stays byte for byte.
/// </summary>
[Cmdlet(VerbsCommon.Set, "RelocationVmTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(VmTargetReceipt))]
public sealed class SetRelocationVmTargetCommand : TransitionCmdlet
{
    /// <summary>The VM target (vm_targets[].hostname); binds by property name from Get-RelocationManifest's VmTargets.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostnameCompleter))]
    public string Hostname { get; set; } = "";

    /// <summary>planned, provisioned, ready, cutover or complete.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(StatusCompleter))]
    public string? Status { get; set; }

    /// <summary>The VM's LAN address (IPv4 or IPv6), key address.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Address { get; set; }

    /// <summary>The VM's tailnet address (100.64.0.0/10), key tailscale_ip.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TailscaleIp { get; set; }

    /// <summary>Each piped item is its own transaction: a refused item is a non-terminating error.</summary>
    protected override bool StopOnItemError => false;

    protected override string PlanNoun => "VM target";

    protected override string Capability => "infra.relocation.vm.target";

    protected override void ProcessRecord()
    {
        var status = Status is null ? null : VmTargetStatusNames.Parse(Status);
        if (Status is not null && status is null)
        {
            Fail("InvalidVmTargetStatus", FailureKind.InvalidArgument,
                $"'{Status}' is not a VM target status. Valid: planned, provisioned, ready, cutover, complete.", Status);
            return;
        }
        if (Status is null && Address is null && TailscaleIp is null)
        {
            Fail("NothingToSet", FailureKind.InvalidArgument, "Give at least one of -Status, -Address, -TailscaleIp.", Hostname);
            return;
        }
        var request = new VmTargetRequest(Hostname) { Status = status, Address = Address, TailscaleIp = TailscaleIp };
        Run(() =>
        {
            if (TailscaleIp is not null)
            {
                TransitionPlanner.ValidateTailscaleIp(TailscaleIp);
            }
        });
        Transition(
            new VmTargetReceipt { Subject = Hostname, Hostname = Hostname },
            (estate, env) => TransitionPlanner.PlanVmTarget(estate, request, env),
            Hostname,
            highImpact: false);
    }
}
