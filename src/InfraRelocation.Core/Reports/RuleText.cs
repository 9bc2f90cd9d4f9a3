using InfraRelocation.Gates;

namespace InfraRelocation.Core.Reports;

/// <summary>
/// What a report says about a rule (SARIF's shortDescription, fullDescription, help and helpUri): what its gate
/// checks, what the rule id's second half names, and how to fix it. The help points to the gates' about_ page.
/// </summary>
public sealed record RuleText(string Short, string Full, string Help, string HelpMarkdown, string HelpUri)
{
    private const string HelpPage = ReportWriter.InformationUri + "/blob/main/docs/en-US/about_InfraRelocation_Gates.md";

    private static readonly Dictionary<string, (string What, string Fix)> s_gates = new(StringComparer.Ordinal)
    {
        [GateIds.Schema] = ("Schema: every protocol file parses and has the fields, types and values the protocol defines.",
            "Correct the value at the location; Test-RelocationManifest lists every schema problem with file:line:column."),
        [GateIds.Parity] = ("D35 relocation parity: every file of the protocol's parity table (service and stack registries, device identity, health bindings, SSH targets, backup inventory, placement policy) agrees with the manifest for each service past planned.",
            "Change the file named by the related location to the value the manifest requires (Get-RelocationImpact shows file, place and values), or correct the manifest."),
        [GateIds.ExceptionHygiene] = ("D36 exception hygiene: every exception has an owner, a reason and an expiry date; expired exceptions fail and those expiring soon warn.",
            "Renew the exception with a new expires_at and a reason, or remove it once the legacy entry point is gone."),
        [GateIds.Placement] = ("D37 placement policy: every VM and service sits on its canonical hypervisor and site, VMIDs fall in their site's range, and rollback targets are in the service's DR sites.",
            "Move the VM target or service to a host of the required site, or change infra.placement.policy.yaml through review."),
        [GateIds.HypervisorIdentity] = ("Hypervisor identity: hostnames are unique and every hypervisor's machine id matches the pinned one.",
            "Pin the correct machine_id in the placement policy, or rename the host with Set-HypervisorHostname."),
    };

    /// <summary>The text for <paramref name="ruleId"/> of gate <paramref name="gate"/>.</summary>
    public static RuleText For(string ruleId, string gate)
    {
        var (what, fix) = s_gates.TryGetValue(gate, out var known)
            ? known
            : ($"{gate}: a check of the InfraRelocation protocol.", "See the finding's message and the gates' help page.");
        var dot = ruleId.IndexOf('.', StringComparison.Ordinal);
        var name = Words(dot < 0 ? ruleId : ruleId[(dot + 1)..]);
        var anchor = "#" + gate.ToLowerInvariant();
        return new RuleText(
            Short: $"{gate}: {name}",
            Full: $"{name}. {what}",
            Help: $"{what} {fix}",
            HelpMarkdown: $"**{gate}: {name}**\n\n{what}\n\n**How to fix:** {fix}\n\nSee [about_InfraRelocation_Gates]({HelpPage}{anchor}).",
            HelpUri: HelpPage + anchor);
    }

    // RegistryHostMismatch -> "Registry host mismatch"
    private static string Words(string pascal)
    {
        var text = new System.Text.StringBuilder();
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ').Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }
}
