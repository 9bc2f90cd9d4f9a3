using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Commands.Completers;

/// <summary>
/// Base of the argument completers that offer names from the estate: the root comes from the command line's
/// -Root, else $env:INFRA_RELOCATION_ROOT, else the folder walk from the current location (the cmdlets' own
/// rule). Only the files a completer needs are read, through the loader's digest-keyed cache, so a repeated
/// Tab costs a hash of the file. A broken or missing estate completes nothing rather than failing the Tab.
/// </summary>
public abstract class EstateCompleter : IArgumentCompleter
{
    /// <summary>The files <see cref="Values"/> needs.</summary>
    protected abstract EstateFile[] Files { get; }

    /// <summary>The candidate values, in the order they should be offered.</summary>
    protected abstract IEnumerable<string> Values(EstateSnapshot estate, string commandName);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        EstateSnapshot estate;
        try
        {
            estate = EstateLoader.Load(EstateLayoutLoader.Load(ResolveRoot(fakeBoundParameters)), Files);
        }
        catch (Exception ex) when (ex is RelocationException or IOException or UnauthorizedAccessException)
        {
            return [];
        }
        var typed = wordToComplete.Trim('\'', '"');
        var pattern = new WildcardPattern(typed + "*", WildcardOptions.IgnoreCase);
        return Values(estate, commandName)
            .Where(v => !string.IsNullOrEmpty(v) && pattern.IsMatch(v))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(v => new CompletionResult(Quote(v), v, CompletionResultType.ParameterValue, v))
            .ToList();
    }

    internal static string ResolveRoot(IDictionary fakeBoundParameters)
    {
        var current = CurrentLocation();
        var explicitRoot = fakeBoundParameters?["Root"]?.ToString();
        return EstateLayout.ResolveRoot(explicitRoot is null ? null : Path.GetFullPath(explicitRoot, current), current);
    }

    // Completion runs inside the console's pipeline, where SessionStateProxy is off limits. A script block invoked
    // here runs in the session and reads its file-system location; its first use costs a fraction of a nested
    // PowerShell's (about 80 ms of the first Tab, docs/benchmarks.md), which stays for sessions that refuse the
    // script (constrained language).
    private static string CurrentLocation()
    {
        try
        {
            if (ScriptBlock.Create("$ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath").Invoke()
                .FirstOrDefault()?.BaseObject is string location)
            {
                return location;
            }
        }
        catch (RuntimeException)
        {
        }
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        return ps.AddCommand("Microsoft.PowerShell.Management\\Get-Location").AddParameter("PSProvider", "FileSystem")
            .Invoke<PathInfo>().FirstOrDefault()?.ProviderPath ?? Environment.CurrentDirectory;
    }

    /// <summary>Single-quotes a value that the parser would otherwise split or expand.</summary>
    internal static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':')
            ? value
            : "'" + value.Replace("'", "''") + "'";
}

/// <summary>-Service: the manifest's services.</summary>
public sealed class ServiceCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.Manifest];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        estate.Manifest?.Services.Select(s => s.Service) ?? [];
}

/// <summary>
/// -Status: the protocol's words first (service statuses planned, cutover, migrated, complete; VM target
/// statuses for Set-RelocationVmTarget), then any other word the estate already uses.
/// </summary>
public sealed class StatusCompleter : EstateCompleter
{
    private static readonly string[] s_serviceStatuses = ["planned", "cutover", "migrated", "complete"];

    protected override EstateFile[] Files => [EstateFile.Manifest];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName)
    {
        if (string.Equals(commandName, "Set-RelocationVmTarget", StringComparison.OrdinalIgnoreCase))
        {
            return Enum.GetNames<VmTargetStatus>().Select(n => n.ToLowerInvariant())
                .Concat(estate.Manifest?.VmTargets.Select(v => v.StatusText ?? "") ?? []);
        }
        return s_serviceStatuses.Concat(estate.Manifest?.Services.Select(s => s.StatusText ?? "") ?? []);
    }
}

/// <summary>-Hostname: the manifest's VM targets.</summary>
public sealed class HostnameCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.Manifest];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        estate.Manifest?.VmTargets.Select(v => v.Hostname) ?? [];
}

/// <summary>-VmId: the VM targets' VMIDs (the hostname is shown as the tooltip's subject).</summary>
public sealed class VmIdCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.Manifest];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        estate.Manifest?.VmTargets.Where(v => v.VmId is not null).Select(v => v.VmId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)) ?? [];
}

/// <summary>-HostId: the placement policy's hosts.</summary>
public sealed class HostIdCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.PlacementPolicy];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        estate.Policy?.Hosts.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>();
}

/// <summary>-Profile: the VM profiles catalog.</summary>
public sealed class ProfileCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.VmProfiles];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        estate.Profiles?.Profiles.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>();
}

/// <summary>-ChangeId: the active relocation's change id, then archived ones.</summary>
public sealed class ChangeIdCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [EstateFile.Manifest];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName) =>
        new[] { estate.Manifest?.ActiveRelocation?.ChangeId ?? "" }
            .Concat(estate.Manifest?.CompletedRelocations.Select(c => c.ChangeId ?? "") ?? []);
}

/// <summary>-Capability: the capabilities recorded in the estate's receipt ledger.</summary>
public sealed partial class CapabilityCompleter : EstateCompleter
{
    protected override EstateFile[] Files => [];

    protected override IEnumerable<string> Values(EstateSnapshot estate, string commandName)
    {
        var ledger = Path.Combine(estate.Layout.ActiveReceiptsPath, Core.Receipts.ReceiptStore.LedgerFileName);
        if (!File.Exists(ledger))
        {
            return [];
        }
        // The capability is a plain field of every receipt line; a scan finds the distinct ones without
        // deserializing the ledger.
        return CapabilityField().Matches(File.ReadAllText(ledger)).Select(m => m.Groups[1].Value)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    [GeneratedRegex("\"Capability\":\"([a-z0-9_.-]+)\"")]
    private static partial Regex CapabilityField();
}
