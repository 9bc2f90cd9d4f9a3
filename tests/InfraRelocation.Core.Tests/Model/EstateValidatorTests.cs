using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>Every SCHEMA rule, each provoked by one edit of a copy of the sample estate.</summary>
public sealed class EstateValidatorTests : IDisposable
{
    private const string Manifest = "ops/bindings/infra.relocation.plan.yaml";
    private const string Policy = "ops/bindings/infra.placement.policy.yaml";
    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    private void Edit(string file, string from, string to) => TestEstate.Edit(_estate.Root, file, t => ReplaceFirst(t, from, to));

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return at < 0 ? text : text[..at] + to + text[(at + from.Length)..];
    }

    private int LineOf(string file, string text) =>
        Array.FindIndex(File.ReadAllLines(Path.Combine(_estate.Root, file)), l => l.Contains(text, StringComparison.Ordinal)) + 1;

    private RelocationFinding Single(string ruleId)
    {
        var findings = TestEstate.Load(_estate.Root).ValidationFindings;
        var finding = Assert.Single(findings);
        Assert.Equal(ruleId, finding.RuleId);
        Assert.NotNull(finding.Location);
        return finding;
    }

    [Fact]
    public void VmIdThatIsNotAnIntegerIsAWrongType()
    {
        Edit(Manifest, "vm_id: \"212\"", "vm_id: \"two-twelve\"");
        var f = Single("SCHEMA.WrongType");
        Assert.Equal("vm_targets[2].vm_id", f.DocumentPath);
        Assert.Equal(new SourceLocation(Manifest, LineOf(Manifest, "two-twelve"), 12), f.Location);
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Assert.Equal("two-twelve", f.Actual);
    }

    [Fact]
    public void PhaseThatIsNotAnIntegerIsAWrongType() =>
        Assert.Equal("services[0].phase", TestWith(Manifest, "phase: 1", "phase: first", "SCHEMA.WrongType").DocumentPath);

    [Fact]
    public void YesIsNotABoolean() =>
        Assert.Equal("rollback.requires_backup_verification",
            TestWith(Manifest, "requires_backup_verification: true", "requires_backup_verification: yes", "SCHEMA.WrongType").DocumentPath);

    [Fact]
    public void ListWhereAScalarIsExpectedIsAWrongType() =>
        Assert.Equal("services[0].to_host", TestWith(Manifest, "to_host: \"app-core\"", "to_host: [app-core]", "SCHEMA.WrongType").DocumentPath);

    [Fact]
    public void StateIsCaseSensitive()
    {
        var f = TestWith(Manifest, "state: \"preflight\"", "state: \"Preflight\"", "SCHEMA.UnknownEnumValue");
        Assert.Equal("active_relocation.state", f.DocumentPath);
        Assert.Equal("Preflight", f.Actual);
    }

    [Fact]
    public void UnknownServiceStatusIsReported()
    {
        var f = TestWith(Manifest, "status: \"shadow\"", "status: \"rolled_back\"", "SCHEMA.UnknownEnumValue");
        Assert.Equal("wiki", f.Subject);
        Assert.Contains("rolled-back", f.Expected);
    }

    [Fact]
    public void RolledBackAndLegacyMigratedAreAccepted()
    {
        Edit(Manifest, "status: \"shadow\"", "status: \"rolled-back\"");
        Edit(Manifest, "status: \"shadow\"", "status: \"migrated\"");
        var estate = TestEstate.Load(_estate.Root);
        Assert.Empty(estate.ValidationFindings);
        Assert.Equal(ServiceStatus.RolledBack, estate.Manifest!.Services[0].Status);
        Assert.Equal(ServiceStatus.Migrated, estate.Manifest.Services[1].Status);
    }

    [Fact]
    public void UnknownVmStatusIsReported() =>
        TestWith(Manifest, "status: \"provisioned\"", "status: \"running\"", "SCHEMA.UnknownEnumValue");

    [Theory]
    [InlineData("  change_id: \"CHG-2026-1118-SPLIT-LEGACY\"\n", "active_relocation.change_id")]
    [InlineData("  owner: \"@mkoenig\"\n", "active_relocation.owner")]
    [InlineData("  state: \"preflight\"\n", "active_relocation.state")]
    [InlineData("    status: \"shadow\"\n", "services[0].status")]
    [InlineData("    to_host: \"app-core\"\n", "services[0].to_host")]
    [InlineData("    hostname: \"app-core\"\n", "vm_targets[0].hostname")]
    [InlineData("    vm_id: \"210\"\n", "vm_targets[0].vm_id")]
    [InlineData("    proxmox_host: \"pve-fra1-a\"\n", "vm_targets[0].proxmox_host")]
    public void MissingRequiredFieldIsReported(string line, string path)
    {
        if (line.Contains("vm_id"))
        {
            Edit(Manifest, "  - vm_id: \"210\"\n    hostname", "  - hostname");
        }
        else
        {
            Edit(Manifest, line, "");
        }
        var f = Single("SCHEMA.MissingField");
        Assert.Equal(path, f.DocumentPath);
    }

    [Fact]
    public void NullRequiredFieldIsReported() =>
        Assert.Equal("services[0].to_host", TestWith(Manifest, "to_host: \"app-core\"", "to_host: null", "SCHEMA.MissingField").DocumentPath);

    [Fact]
    public void DuplicateServiceNamesBothPlaces()
    {
        var f = TestWith(Manifest, "service: \"pastebin\"", "service: \"wiki\"", "SCHEMA.DuplicateService");
        Assert.Equal("wiki", f.Subject);
        Assert.Equal(LineOf(Manifest, "service: \"wiki\"") + 8, f.Location!.Line);
        Assert.Equal(LineOf(Manifest, "service: \"wiki\""), f.RelatedLocation!.Line);
    }

    [Fact]
    public void DuplicateVmHostname() =>
        TestWith(Manifest, "hostname: \"app-web\"", "hostname: \"app-core\"", "SCHEMA.DuplicateVmHostname", expectOthers: true);

    [Fact]
    public void DuplicateVmId() => Assert.Equal("vm_targets[1].vm_id", TestWith(Manifest, "vm_id: \"211\"", "vm_id: \"210\"", "SCHEMA.DuplicateVmId").DocumentPath);

    [Fact]
    public void ToHostThatIsNoKnownHost()
    {
        var f = TestWith(Manifest, "to_host: \"app-core\"", "to_host: \"app-kore\"", "SCHEMA.UnknownHost");
        Assert.Equal("services[0].to_host", f.DocumentPath);
        Assert.Equal("app-kore", f.Actual);
        Assert.Equal(FindingSeverity.Error, f.Severity);
    }

    [Fact]
    public void RollbackToThatIsNoKnownHost() =>
        Assert.Equal("services[0].rollback_to", TestWith(Manifest, "rollback_to: \"legacy-docker\"", "rollback_to: \"old-box\"", "SCHEMA.UnknownHost").DocumentPath);

    [Fact]
    public void FromHostThatIsNoKnownHostIsAWarning() =>
        Assert.Equal(FindingSeverity.Warning, TestWith(Manifest, "from_host: \"legacy-docker\"", "from_host: \"gone-box\"", "SCHEMA.UnknownHost").Severity);

    [Fact]
    public void ProxmoxHostThatIsUnknownOrNotAHypervisor()
    {
        TestWith(Manifest, "proxmox_host: \"pve-fra1-a\"", "proxmox_host: \"pve-fra1-z\"", "SCHEMA.UnknownProxmoxHost");
        Edit(Manifest, "proxmox_host: \"pve-fra1-z\"", "proxmox_host: \"nas-fra1\"");
        Assert.Contains("kind: proxmox", Single("SCHEMA.UnknownProxmoxHost").Message);
    }

    [Fact]
    public void UnknownProfile() =>
        Assert.Equal("vm_targets[0].profile", TestWith(Manifest, "profile: \"docker-host-v2\"", "profile: \"docker-host-v3\"", "SCHEMA.UnknownProfile").DocumentPath);

    [Fact]
    public void RegistryHostNamingAnUnknownSshTarget() =>
        TestWith("ops/governance/SERVICE_REGISTRY.yaml", "ssh: app-core", "ssh: app-core-old", "SCHEMA.UnknownSshTarget");

    [Fact]
    public void PolicySiteReferences()
    {
        TestWith(Policy, "app-core:      { site: fra1, kind: vm }", "app-core:      { site: fra2, kind: vm }", "SCHEMA.UnknownSite");
    }

    [Fact]
    public void UnparseableExpiryDate()
    {
        var f = TestWith(Manifest, "expires_at: \"2027-03-31T23:59:59Z\"", "expires_at: \"end of march\"", "SCHEMA.InvalidDate");
        Assert.Equal("exceptions[0].expires_at", f.DocumentPath);
    }

    [Fact]
    public void UnparseableUpdatedAt() =>
        TestWith(Manifest, "updated_at: \"2026-11-20T16:40:00Z\"", "updated_at: \"yesterday\"", "SCHEMA.InvalidDate");

    [Fact]
    public void ExceptionRegisterDates()
    {
        var f = TestWith("ops/bindings/legacy.entrypoint.exceptions.yaml", "expires_at: \"2027-02-28T23:59:59Z\"", "expires_at: \"2027-02-30\"", "SCHEMA.InvalidDate");
        Assert.Equal("ops/bindings/legacy.entrypoint.exceptions.yaml", f.Location!.File);
    }

    [Fact]
    public void ExpiryWithOffsetOrDateOnlyIsParsed()
    {
        Edit(Manifest, "expires_at: \"2027-03-31T23:59:59Z\"", "expires_at: \"2027-04-01T01:59:59+02:00\"");
        Edit("ops/bindings/legacy.entrypoint.exceptions.yaml", "expires_at: \"2027-02-28T23:59:59Z\"", "expires_at: 2027-02-28");
        var estate = TestEstate.Load(_estate.Root);
        Assert.Empty(estate.ValidationFindings);
        Assert.Equal(new DateTimeOffset(2027, 3, 31, 23, 59, 59, TimeSpan.Zero), estate.Manifest!.Exceptions[0].ExpiresAt);
        Assert.Equal(new DateTimeOffset(2027, 2, 28, 0, 0, 0, TimeSpan.Zero), estate.ExceptionRegister!.Exceptions[0].ExpiresAt);
    }

    [Theory]
    [InlineData("../../etc/passwd", "climbs out")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("ops/../../outside.yaml", "climbs out")]
    public void RequiredUpdateEscapingTheRoot(string path, string reason)
    {
        var f = TestWith(Manifest, "  - \"ops/bindings/ssh.targets.yaml\"", $"  - \"{path}\"", "SCHEMA.PathEscapesRoot");
        Assert.Contains(reason, f.Message);
        Assert.Equal("required_updates[4]", f.DocumentPath);
    }

    [Fact]
    public void RequiredUpdateThroughASymlinkOut()
    {
        var outside = Path.Combine(Path.GetTempPath(), "ir-outside-" + Guid.NewGuid().ToString("n")[..8]);
        Directory.CreateDirectory(outside);
        try
        {
            File.WriteAllText(Path.Combine(outside, "secrets.yaml"), "x: 1\n");
            Directory.CreateSymbolicLink(Path.Combine(_estate.Root, "ops", "linked"), outside);
            var f = TestWith(Manifest, "  - \"ops/bindings/ssh.targets.yaml\"", "  - \"ops/linked/secrets.yaml\"", "SCHEMA.PathEscapesRoot");
            Assert.Contains("symbolic link", f.Message);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void RequiredUpdateThatDoesNotExistIsAnErrorInAnActiveState()
    {
        var f = TestWith(Manifest, "  - \"ops/bindings/ssh.targets.yaml\"", "  - \"ops/bindings/ssh.target.yaml\"", "SCHEMA.RequiredUpdateMissing");
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Edit(Manifest, "state: \"preflight\"", "state: \"planning\"");
        Assert.Equal(FindingSeverity.Warning, Single("SCHEMA.RequiredUpdateMissing").Severity);
    }

    [Fact]
    public void UnknownFieldsAreKeptAndIgnored()
    {
        Edit(Manifest, "    status: \"shadow\"\n", "    status: \"shadow\"\n    notes: \"watch the cache warm-up\"\n    owners: [\"@a\", \"@b\"]\n");
        Edit(Policy, "guards:\n", "guards:\n  enforce_something_new: true\n");
        var estate = TestEstate.Load(_estate.Root);
        Assert.Empty(estate.ValidationFindings);
        var wiki = estate.Manifest!.Services[0];
        Assert.Equal("watch the cache warm-up", wiki.Extra["notes"]);
        Assert.Equal(new List<object?> { "@a", "@b" }, wiki.Extra["owners"]);
        Assert.True(estate.Policy!.Guards.Extra.ContainsKey("enforce_something_new"));
    }

    [Fact]
    public void DocumentThatIsNotAMappingIsAWrongType()
    {
        File.WriteAllText(Path.Combine(_estate.Root, "ops/bindings/naming.policy.yaml"), "- just\n- a list\n");
        var f = Single("SCHEMA.WrongType");
        Assert.Equal("ops/bindings/naming.policy.yaml", f.Location!.File);
    }

    [Fact]
    public void MissingManifestIsAFinding()
    {
        File.Delete(Path.Combine(_estate.Root, Manifest));
        Assert.Equal(Manifest, Single("SCHEMA.FileMissing").Subject);
    }

    [Theory]
    [InlineData("vm_targets")]
    [InlineData("services")]
    [InlineData("required_updates")]
    public void WhileARelocationIsActiveTheProtocolsListsAreRequired(string key)
    {
        // Cut the list (key and items) out of the manifest: reported at the active_relocation block, with the fix.
        TestEstate.Edit(_estate.Root, Manifest, t =>
        {
            var lines = t.Split('\n').ToList();
            var start = lines.FindIndex(l => l == $"{key}:");
            var end = lines.FindIndex(start + 1, l => l.Length > 0 && !char.IsWhiteSpace(l[0]) && l[0] != '-');
            lines.RemoveRange(start, end - start);
            return string.Join('\n', lines);
        });
        var f = Assert.Single(TestEstate.Load(_estate.Root).ValidationFindings, x => x.DocumentPath == key);
        Assert.Equal("SCHEMA.MissingField", f.RuleId);
        Assert.Contains($"write {key}: []", f.Message, StringComparison.Ordinal);
        Assert.Equal(LineOf(Manifest, "  change_id:"), f.Location!.Line); // the active_relocation block's first field
        // Empty lists are fine.
        TestEstate.Edit(_estate.Root, Manifest, t => t.Replace("active_relocation:\n", $"{key}: []\nactive_relocation:\n", StringComparison.Ordinal));
        Assert.DoesNotContain(TestEstate.Load(_estate.Root).ValidationFindings, x => x.DocumentPath == key);
    }

    [Fact]
    public void AHealthUrlMustBeAnHttpUrl()
    {
        Edit(Manifest, "health_url: \"http://192.0.2.110:3000/healthz\"", "health_url: \"192.0.2.110:3000/healthz\"");
        var f = Single("SCHEMA.InvalidUrl");
        Assert.Equal("services[0].health_url", f.DocumentPath);
        Assert.Equal("wiki", f.Subject);
        Assert.Equal(LineOf(Manifest, "health_url: \"192.0.2.110"), f.Location!.Line);
    }

    [Fact]
    public void ANullManifestDocumentIsAnError()
    {
        File.WriteAllText(Path.Combine(_estate.Root, Manifest), "# nothing here\n~\n");
        Assert.Contains(TestEstate.Load(_estate.Root).ValidationFindings, f => f.RuleId == "SCHEMA.EmptyDocument" && f.Location!.File == Manifest);
    }

    [Fact]
    public void NullActiveRelocationReadsAsNone()
    {
        TestEstate.Edit(_estate.Root, Manifest, t =>
        {
            var start = t.IndexOf("active_relocation:", StringComparison.Ordinal);
            var end = t.IndexOf("completed_relocations:", StringComparison.Ordinal);
            return t[..start] + "active_relocation: null\n\n" + t[end..];
        });
        var estate = TestEstate.Load(_estate.Root);
        Assert.Empty(estate.ValidationFindings);
        Assert.Null(estate.Manifest!.ActiveRelocation);
        Assert.Equal(19, estate.Manifest.Services.Count);
    }

    [Fact]
    public void BrokenCopyYieldsTheExpectedFindings()
    {
        Edit(Manifest, "state: \"preflight\"", "state: \"pre-flight\"");
        Edit(Manifest, "vm_id: \"213\"", "vm_id: 21x3");
        Edit(Manifest, "service: \"grafana\"", "service: \"prometheus\"");
        Edit(Manifest, "to_host: \"auth-core\"", "to_host: \"auth-kore\"");
        Edit(Manifest, "expires_at: \"2027-03-31T23:59:59Z\"", "expires_at: \"soon\"");
        Edit(Manifest, "  - \"ops/bindings/ssh.targets.yaml\"", "  - \"../../../etc/shadow\"");
        var findings = TestEstate.Load(_estate.Root).ValidationFindings;
        Assert.Equal(
            ["SCHEMA.DuplicateService", "SCHEMA.InvalidDate", "SCHEMA.PathEscapesRoot", "SCHEMA.UnknownEnumValue", "SCHEMA.UnknownHost", "SCHEMA.WrongType"],
            findings.Select(f => f.RuleId).Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.Equal(Manifest, f.Location!.File));
    }

    private RelocationFinding TestWith(string file, string from, string to, string ruleId, bool expectOthers = false)
    {
        Edit(file, from, to);
        if (!expectOthers)
        {
            return Single(ruleId);
        }
        var findings = TestEstate.Load(_estate.Root).ValidationFindings;
        return Assert.Single(findings, f => f.RuleId == ruleId);
    }
}
