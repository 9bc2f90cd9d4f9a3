using System.Text;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests.Persistence;

public sealed class YamlScalarEditorTests
{
    private const string File = "ops/bindings/infra.relocation.plan.yaml";

    private const string Manifest = """
        # Relocation manifest — hand-maintained; keep comments!
        version: 1   # schema

        active_relocation:
          id: shop-to-home   # the current move
          state: preflight
          approved_by: null
          updated_at: '2026-02-16T10:00:00Z'
          notes: "double \"quoted\" note"

        defaults: &defaults
          profile: standard
          retries: 3

        vm_targets:
          - hostname: app-core   # first VM
            vm_id: 210
            status: planned
            tailscale_ip: ~
            proxmox_host: pve-home
          - hostname: app-media
            vm_id: 211
            status: ready
            tailscale_ip: 100.64.0.12
            net: { cidr: 10.0.0.5/24, gw: 10.0.0.1 }

        services:
          - name: grafana
            status: planned
            to_host: app-core
            extra: *defaults
          - {name: loki, status: shadow, to_host: app-core}

        # trailing comment

        """;

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string Apply(string yaml, params YamlEdit[] edits) =>
        Encoding.UTF8.GetString(YamlScalarEditor.Apply(Utf8(yaml), edits, File).Bytes);

    [Fact]
    public void Set_PlainScalar_ChangesOnlyTheValueBytes()
    {
        var after = Apply(Manifest, YamlEdit.Set("active_relocation.state", "cutover"));
        Assert.Equal(Manifest.Replace("state: preflight", "state: cutover"), after);
    }

    [Fact]
    public void Set_KeepsSingleAndDoubleQuoting_AndEscapes()
    {
        var after = Apply(Manifest,
            YamlEdit.Set("active_relocation.updated_at", "2026-02-17T08:30:00Z"),
            YamlEdit.Set("active_relocation.notes", "say \"hi\" \\ o'k"));
        Assert.Contains("updated_at: '2026-02-17T08:30:00Z'\n", after);
        Assert.Contains("notes: \"say \\\"hi\\\" \\\\ o'k\"\n", after);
        Assert.Equal("say \"hi\" \\ o'k", YamlScalarEditor.ReadScalar(Utf8(after), "active_relocation.notes", File));

        var single = Apply(Manifest, YamlEdit.Set("active_relocation.updated_at", "it's"));
        Assert.Contains("updated_at: 'it''s'\n", single);
        var newline = Apply(Manifest, YamlEdit.Set("active_relocation.updated_at", "a\nb"));
        Assert.Contains("updated_at: \"a\\nb\"\n", newline);
    }

    [Theory]
    [InlineData("active_relocation.approved_by", "alice", "approved_by: alice")]       // plain null -> string
    [InlineData("vm_targets[0].tailscale_ip", "100.64.0.10", "tailscale_ip: 100.64.0.10")] // ~ -> string
    [InlineData("active_relocation.approved_by", "true", "approved_by: 'true'")]        // would read as bool
    [InlineData("active_relocation.approved_by", "null", "approved_by: 'null'")]        // would read as null
    [InlineData("active_relocation.approved_by", "0123", "approved_by: '0123'")]        // would read as int
    [InlineData("active_relocation.approved_by", "a: b", "approved_by: 'a: b'")]        // would not parse
    [InlineData("active_relocation.approved_by", "# x", "approved_by: '# x'")]          // comment
    [InlineData("active_relocation.approved_by", "", "approved_by: ''")]               // empty string
    public void Set_NullOrPlain_QuotesOnlyWhenNeededToStayAStringValue(string path, string value, string expectedLine)
    {
        var after = Apply(Manifest, YamlEdit.Set(path, value));
        Assert.Contains(expectedLine + "\n", after);
        Assert.Equal(value, YamlScalarEditor.ReadScalar(Utf8(after), path, File));
    }

    [Fact]
    public void Selector_FindsTheSequenceItemByKey_AndKeepsTheTrailingComment()
    {
        var after = Apply(Manifest,
            YamlEdit.Set("vm_targets[?hostname=app-core].status", "provisioned", expected: "planned"),
            YamlEdit.Set("vm_targets[?hostname=app-core].tailscale_ip", "100.64.0.11"));
        Assert.Equal(Manifest.Replace("tailscale_ip: ~", "tailscale_ip: 100.64.0.11")
            .Replace("vm_id: 210\n    status: planned", "vm_id: 210\n    status: provisioned"), after);
        Assert.Contains("  - hostname: app-core   # first VM\n", after);
    }

    [Fact]
    public void Set_InsideFlowMappings_KeepsTheFlowStyle()
    {
        var after = Apply(Manifest,
            YamlEdit.Set("services[?name=loki].status", "cutover"),
            YamlEdit.Set("vm_targets[1].net.gw", "10.0.0.254"));
        Assert.Contains("  - {name: loki, status: cutover, to_host: app-core}\n", after);
        Assert.Contains("net: { cidr: 10.0.0.5/24, gw: 10.0.0.254 }\n", after);

        var comma = Apply(Manifest, YamlEdit.Set("services[1].status", "a,b"));
        Assert.Contains("status: 'a,b', to_host", comma); // a comma would end a plain scalar in flow context
    }

    [Fact]
    public void AddMissingKey_InBlockMapping_UsesTheBlockIndentAfterItsLastKey()
    {
        var after = Apply(Manifest, YamlEdit.Set("vm_targets[?hostname=app-core].ci_network_cidr", "10.0.0.7/24"));
        Assert.Contains("    proxmox_host: pve-home\n    ci_network_cidr: 10.0.0.7/24\n  - hostname: app-media", after);

        var top = Apply(Manifest, YamlEdit.Set("active_relocation.started_by", "bob"));
        Assert.Contains("  notes: \"double \\\"quoted\\\" note\"\n  started_by: bob\n\ndefaults:", top);
    }

    [Fact]
    public void AddMissingKey_InFlowMapping_AppendsBeforeTheBrace()
    {
        var after = Apply(Manifest, YamlEdit.Set("services[1].rollback_to", "pve-shop"));
        Assert.Contains("{name: loki, status: shadow, to_host: app-core, rollback_to: pve-shop}\n", after);
        var empty = Apply("a: {}\nb: { }\n", YamlEdit.Set("a.x", "1 2"), YamlEdit.Set("b.k", "z"));
        Assert.Equal("a: {x: 1 2}\nb: { k: z }\n", empty);
    }

    [Fact]
    public void EmptyValue_IsFilledWithASpaceAfterTheColon()
    {
        Assert.Equal("a:\n  b: x\nc: 1\n", Apply("a:\n  b:\nc: 1\n", YamlEdit.Set("a.b", "x")));
        Assert.Equal("a: null\n", Apply("a: x\n", YamlEdit.SetNull("a")));
        Assert.Equal("a: 42\n", Apply("a: x\n", YamlEdit.SetLiteral("a", "42")));
    }

    [Fact]
    public void CrlfAndBom_ArePreserved()
    {
        var crlf = Manifest.Replace("\n", "\r\n");
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Utf8(crlf)).ToArray();
        var result = YamlScalarEditor.Apply(bytes, [
            YamlEdit.Set("active_relocation.state", "cutover"),
            YamlEdit.Set("vm_targets[0].new_key", "v")], File);
        var expected = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Utf8(crlf
            .Replace("state: preflight", "state: cutover")
            .Replace("proxmox_host: pve-home\r\n", "proxmox_host: pve-home\r\n    new_key: v\r\n"))).ToArray();
        Assert.Equal(expected, result.Bytes);
        Assert.DoesNotContain("\r", result.Diff);
    }

    [Fact]
    public void AnchorsAndTags_StayInFrontOfTheValue()
    {
        var yaml = "base: &b 1\ncopy: *b\ntagged: !!str 5\n";
        Assert.Equal("base: &b 2\ncopy: *b\ntagged: !!str 6\n",
            Apply(yaml, YamlEdit.SetLiteral("base", "2"), YamlEdit.SetLiteral("tagged", "6")));
        var ex = Assert.Throws<RelocationException>(() => Apply(yaml, YamlEdit.Set("copy", "x")));
        Assert.Equal("YamlPathNotScalar", ex.ErrorId);
    }

    [Fact]
    public void NonAsciiBeforeTheValue_KeepsOffsetsRight()
    {
        var yaml = "# café 😀 ünïcode\nname: \"Grüße 😀\"\nx: y\n";
        Assert.Equal("# café 😀 ünïcode\nname: \"Grüße 😀\"\nx: zé\n", Apply(yaml, YamlEdit.Set("x", "zé")));
    }

    [Fact]
    public void Errors_NameThePathAndTheNearestNodeLocation()
    {
        var missing = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("vm_targets[?hostname=nope].status", "x")));
        Assert.Equal("YamlPathNotFound", missing.ErrorId);
        Assert.Equal(new SourceLocation(File, 16, 3), missing.Location);

        var deep = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("active_relocation.x.y", "1")));
        Assert.Equal("YamlPathNotFound", deep.ErrorId);
        Assert.Equal(new SourceLocation(File, 5, 3), deep.Location);

        var index = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("vm_targets[5].status", "x")));
        Assert.Equal("YamlPathNotFound", index.ErrorId);

        var notScalar = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("vm_targets[0]", "x")));
        Assert.Equal("YamlPathNotScalar", notScalar.ErrorId);
        Assert.Equal(new SourceLocation(File, 16, 5), notScalar.Location);

        var expectation = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("active_relocation.state", "cutover", expected: "planning")));
        Assert.Equal("EstateValueChanged", expectation.ErrorId);
        Assert.Equal(new SourceLocation(File, 6, 10), expectation.Location);

        var badPath = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("a..b", "x")));
        Assert.Equal("YamlPathInvalid", badPath.ErrorId);
    }

    [Fact]
    public void ParentThatIsNull_IsNotTurnedIntoAMapping()
    {
        // The reference turned `active_relocation: null` into a map holding only updated_at (§2.12); we refuse.
        var ex = Assert.Throws<RelocationException>(() => Apply("active_relocation: null\n", YamlEdit.Set("active_relocation.updated_at", "x")));
        Assert.Equal("YamlPathNotFound", ex.ErrorId);
    }

    [Fact]
    public void MultipleDocuments_AreRejected()
    {
        var ex = Assert.Throws<RelocationException>(() => Apply("a: 1\n---\na: 2\n", YamlEdit.Set("a", "3")));
        Assert.Equal("YamlMultipleDocuments", ex.ErrorId);
        Assert.Equal(3 - 1, ex.Location!.Line);
    }

    [Fact]
    public void InvalidYaml_IsAParserErrorWithLocation()
    {
        var ex = Assert.Throws<RelocationException>(() => Apply("a: [1, 2\nb: 3\n", YamlEdit.Set("b", "4")));
        Assert.Equal("YamlSyntaxError", ex.ErrorId);
        Assert.NotNull(ex.Location);
    }

    [Fact]
    public void SameValue_ChangesNothing_AndTwoEditsOfOneValueConflict()
    {
        var result = YamlScalarEditor.Apply(Utf8(Manifest), [YamlEdit.Set("active_relocation.updated_at", "2026-02-16T10:00:00Z")], File);
        Assert.False(result.Changed);
        Assert.Equal("", result.Diff);
        var ex = Assert.Throws<RelocationException>(() => Apply(Manifest, YamlEdit.Set("version", "2"), YamlEdit.Set("version", "3")));
        Assert.Equal("YamlEditConflict", ex.ErrorId);
    }

    [Fact]
    public void Diff_IsUnifiedWithContext_AndReportsOldValues()
    {
        var result = YamlScalarEditor.Apply(Utf8(Manifest), [YamlEdit.Set("active_relocation.state", "cutover"), YamlEdit.Set("services[0].status", "shadow")], File);
        Assert.Equal(["preflight", "planned"], result.OldValues);
        var expected = """
            --- a/ops/bindings/infra.relocation.plan.yaml
            +++ b/ops/bindings/infra.relocation.plan.yaml
            @@ -3,7 +3,7 @@

             active_relocation:
               id: shop-to-home   # the current move
            -  state: preflight
            +  state: cutover
               approved_by: null
               updated_at: '2026-02-16T10:00:00Z'
               notes: "double \"quoted\" note"
            @@ -26,7 +26,7 @@

             services:
               - name: grafana
            -    status: planned
            +    status: shadow
                 to_host: app-core
                 extra: *defaults
               - {name: loki, status: shadow, to_host: app-core}

            """;
        Assert.Equal(expected.Replace("\n\n active", "\n \n active").Replace("\n\n services", "\n \n services"), result.Diff);
    }

    [Fact]
    public void LongFile_OnlyTheTargetedItemChanges()
    {
        var sb = new StringBuilder("# generated\nservices:\n");
        for (var i = 0; i < 3000; i++)
        {
            sb.Append($"  # service {i}\n  - name: svc-{i}\n    status: 'planned'\n    to_host: \"host-{i % 7}\"\n\n");
        }
        var yaml = sb.ToString();
        var after = Apply(yaml, YamlEdit.Set("services[?name=svc-2999].status", "applied"), YamlEdit.Set("services[1500].to_host", "h\t1"));
        var expected = yaml.Replace("  - name: svc-2999\n    status: 'planned'", "  - name: svc-2999\n    status: 'applied'")
                           .Replace("  - name: svc-1500\n    status: 'planned'\n    to_host: \"host-2\"", "  - name: svc-1500\n    status: 'planned'\n    to_host: \"h\\t1\"");
        Assert.Equal(expected, after);
    }

    [Fact]
    public void InvalidUtf8_IsRejected()
    {
        var ex = Assert.Throws<RelocationException>(() => YamlScalarEditor.Apply([0x61, 0x3A, 0x20, 0xFF, 0x0A], [YamlEdit.Set("a", "b")], File));
        Assert.Equal("YamlInvalidEncoding", ex.ErrorId);
        Assert.Equal(new SourceLocation(File, 1, 4), ex.Location);
    }

    [Fact]
    public void PlainNumbers_StayNumbers_WhenTheNewValueIsOne()
    {
        Assert.Equal("retries: 4\nid: '5'\nname: x\n", Apply("retries: 3\nid: '4'\nname: 7\n",
            YamlEdit.Set("retries", "4"), YamlEdit.Set("id", "5"), YamlEdit.Set("name", "x")));
        Assert.Equal("retries: many\n", Apply("retries: 3\n", YamlEdit.Set("retries", "many")));
        Assert.Equal("a: '5'\n", Apply("a: null\n", YamlEdit.Set("a", "5"))); // null -> string stays a string
    }

    [Fact]
    public void BlockScalars_AreRefused_AndExplicitDocumentStartIsFine()
    {
        var ex = Assert.Throws<RelocationException>(() => Apply("a: |\n  text\nb: 1\n", YamlEdit.Set("a", "x")));
        Assert.Equal("YamlEditUnsupported", ex.ErrorId);
        Assert.Equal("a: |\n  text\nb: 1\nc: d\n", Apply("a: |\n  text\nb: 1\n", YamlEdit.Set("c", "d")));
        Assert.Equal("a: |\n  text\nc: d\n", Apply("a: |\n  text\n", YamlEdit.Set("c", "d")));
        Assert.Equal("---\na: 2 # c\n...\n", Apply("---\na: 1 # c\n...\n", YamlEdit.SetLiteral("a", "2")));
        Assert.Equal("a: 1\nb: x", Apply("a: 1", YamlEdit.Set("b", "x"))); // no final newline
    }

    [Theory]
    [InlineData("a:   # c\nb: 1\n", "a: x   # c\nb: 1\n")]
    [InlineData("a: # c\nb: 1\n", "a: x # c\nb: 1\n")]
    [InlineData("a:\r\nb: 1\r\n", "a: x\r\nb: 1\r\n")]
    [InlineData("l: [p, q]\na:\n", "l: [p, q]\na: x\n")]
    public void EmptyValues_WithCommentsOrCrlf_GetTheValueBeforeTheComment(string yaml, string expected)
    {
        Assert.Equal(expected, Apply(yaml, YamlEdit.Set("a", "x")));
    }

    [Fact]
    public void FlowSequenceItems_AndNestedInsertions()
    {
        Assert.Equal("l: [p, 'x,y']\n", Apply("l: [p, q]\n", YamlEdit.Set("l[1]", "x,y")));
        var yaml = "top:\n  inner:\n    k: v\n    # trailing comment of inner\n\n  # comment before next\nnext: 1\n";
        Assert.Equal("top:\n  inner:\n    k: v\n  added: z\n    # trailing comment of inner\n\n  # comment before next\nnext: 1\n",
            Apply(yaml, YamlEdit.Set("top.added", "z")));
    }

    // Values whose spans the parser does not give (an empty value after an anchor, a key without a value, an
    // anchored key, an empty value in a flow mapping) once had the new text written into the next key. Each edit
    // now either reads back exactly as intended or is refused with nothing written.
    [Theory]
    [InlineData("a: &x\nb: 1\n", "a", "a: &x v\nb: 1\n")]
    [InlineData("? b\nc: 1\n", "b", null)]
    [InlineData("&a c: 3\nd: 4\n", "c", "&a c: v\nd: 4\n")]
    [InlineData("m: { x, a: b }\n", "m.x", null)]
    [InlineData("a: !t\nb: 1\n", "a", "a: !t v\nb: 1\n")]
    public void EditsThatWouldNotReadBackAsIntended_AreRefused(string yaml, string path, string? expected)
    {
        if (expected is not null)
        {
            Assert.Equal(expected, Apply(yaml, YamlEdit.Set(path, "v")));
            return;
        }
        var ex = Assert.Throws<RelocationException>(() => Apply(yaml, YamlEdit.Set(path, "v")));
        Assert.Equal("YamlEditUnverified", ex.ErrorId);
        Assert.Equal(File, ex.Location!.File);
    }

    [Fact]
    public void AnEmptyValueInAFlowMappingWithItsColon_IsFilledInPlace() =>
        Assert.Equal("v", YamlScalarEditor.ReadScalar(Utf8(Apply("m: { x: , a: b }\n", YamlEdit.Set("m.x", "v"))), "m.x", File));

    [Fact]
    public void Verification_ComparesTheWholeDocument()
    {
        // Every other value, key and style reads back the same after an edit of a large document.
        var sb = new StringBuilder("top: &t {k: v}\nlist:\n");
        for (var i = 0; i < 200; i++)
        {
            sb.Append($"  - {{name: s{i}, status: 'planned', n: {i}}}\n  - [a, \"b\", *t]\n");
        }
        var yaml = sb.ToString();
        var after = Apply(yaml, YamlEdit.Set("list[?name=s150].status", "applied"), YamlEdit.Set("top.added", "x"));
        Assert.Equal(yaml.Replace("{name: s150, status: 'planned'", "{name: s150, status: 'applied'").Replace("top: &t {k: v}", "top: &t {k: v, added: x}"), after);
    }
}
