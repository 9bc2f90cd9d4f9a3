using System.Security.Cryptography;
using System.Text;
using InfraRelocation.Core.Estate;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>
/// Every kind of bad input yields one located RelocationException (file relative to the root, line,
/// column) and leaves every file of the estate unchanged.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private const string Manifest = "ops/bindings/infra.relocation.plan.yaml";
    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    private string FullPath(string relative) => Path.Combine(_estate.Root, relative);

    private RelocationException LoadFails(string expectedErrorId)
    {
        var before = Snapshot();
        var ex = Assert.Throws<RelocationException>(() => TestEstate.Load(_estate.Root));
        Assert.Equal(expectedErrorId, ex.ErrorId);
        Assert.NotNull(ex.Location);
        Assert.Equal(before, Snapshot());
        Assert.False(Directory.Exists(Path.Combine(_estate.Root, "receipts")));
        return ex;
    }

    private string Snapshot() => string.Join("\n", Directory
        .EnumerateFileSystemEntries(_estate.Root, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(p => p + "=" + (File.Exists(p) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "dir")));

    private void WriteManifest(string text) => File.WriteAllText(FullPath(Manifest), text);

    [Fact]
    public void MalformedYamlIsLocated()
    {
        WriteManifest("version: 1\nservices:\n  - service: wiki\n    to_host: [app-core\n");
        var ex = LoadFails("YamlSyntaxError");
        Assert.Equal(Manifest, ex.Location!.File);
        Assert.True(ex.Location.Line >= 4, ex.LocatedMessage);
        Assert.Equal(FailureKind.ParserError, ex.Kind);
        Assert.StartsWith($"{Manifest}:{ex.Location.Line}:{ex.Location.Column}: Not valid YAML", ex.LocatedMessage);
    }

    [Fact]
    public void TabIndentationIsLocatedAtTheTab()
    {
        WriteManifest("version: 1\nactive_relocation:\n\tchange_id: CHG-1\n");
        var ex = LoadFails("YamlSyntaxError");
        Assert.Equal(new SourceLocation(Manifest, 3, 1), ex.Location);
        Assert.Contains("tab", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void DuplicateKeyNamesBothLocations()
    {
        WriteManifest("version: 1\nowner: a\nversion: 2\n");
        var ex = LoadFails("YamlDuplicateKey");
        Assert.Equal(new SourceLocation(Manifest, 3, 1), ex.Location);
        Assert.Contains("line 1, column 1", ex.Message);
    }

    [Fact]
    public void DuplicateKeyInsideAListItemIsFound()
    {
        WriteManifest("services:\n  - service: wiki\n    to_host: a\n    status: planned\n    to_host: b\n");
        var ex = LoadFails("YamlDuplicateKey");
        Assert.Equal(new SourceLocation(Manifest, 5, 5), ex.Location);
    }

    [Fact]
    public void BillionLaughsIsRefusedAtTheFirstAlias()
    {
        var yaml = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var i = 1; i < 9; i++)
        {
            var prev = (char)('a' + i - 1);
            var name = (char)('a' + i);
            yaml.Append($"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n");
        }
        WriteManifest(yaml.ToString());
        var ex = LoadFails("YamlAliasNotAllowed");
        Assert.Equal(2, ex.Location!.Line);
    }

    [Fact]
    public void HugeFileIsRefusedBeforeReading()
    {
        using (var stream = new FileStream(FullPath(Manifest), FileMode.Create))
        {
            stream.SetLength(50L * 1024 * 1024);
        }
        var ex = LoadFails("YamlFileTooLarge");
        Assert.Equal(new SourceLocation(Manifest, 1, 1), ex.Location);
    }

    [Fact]
    public void InvalidUtf8IsLocatedAtTheBadByte()
    {
        var bytes = Encoding.UTF8.GetBytes("version: 1\nowner: \"ab").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes("\"\n")).ToArray();
        File.WriteAllBytes(FullPath(Manifest), bytes);
        var ex = LoadFails("YamlInvalidEncoding");
        Assert.Equal(new SourceLocation(Manifest, 2, 11), ex.Location);
    }

    [Fact]
    public void Latin1FileIsRefused()
    {
        File.WriteAllBytes(FullPath(Manifest), Encoding.Latin1.GetBytes("owner: \"Jürgen\"\n"));
        var ex = LoadFails("YamlInvalidEncoding");
        Assert.Equal(new SourceLocation(Manifest, 1, 10), ex.Location);
    }

    [Fact]
    public void BomAndCrlfSimplyWork()
    {
        var text = File.ReadAllText(FullPath(Manifest)).Replace("\n", "\r\n");
        File.WriteAllBytes(FullPath(Manifest), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]);
        var md = FullPath("ops/governance/DEVICE_IDENTITY_SSOT.md");
        File.WriteAllBytes(md, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(File.ReadAllText(md).Replace("\n", "\r\n"))]);

        var estate = TestEstate.Load(_estate.Root);

        Assert.Empty(estate.ValidationFindings);
        var wiki = estate.Manifest!.Services.Single(s => s.Service == "wiki");
        Assert.Equal("app-core", wiki.ToHost);
        Assert.Equal(new SourceLocation(Manifest, 117, 5), wiki.Location);
        Assert.Equal(["192.0.2.110", "100.64.10.110"], estate.DeviceIdentity!.Devices.Single(d => d.Hostname == "app-core").Addresses);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n\n")]
    public void EmptyFileIsAClearError(string content)
    {
        WriteManifest(content);
        var ex = LoadFails("YamlEmptyDocument");
        Assert.Equal(new SourceLocation(Manifest, 1, 1), ex.Location);
    }

    [Fact]
    public void EmptyDeviceIdentityIsAClearError()
    {
        File.WriteAllText(FullPath("ops/governance/DEVICE_IDENTITY_SSOT.md"), "  \n");
        LoadFails("MarkdownEmptyDocument");
    }

    [Fact]
    public void FolderWhereAFileIsExpected()
    {
        File.Delete(FullPath("ops/bindings/ssh.targets.yaml"));
        Directory.CreateDirectory(FullPath("ops/bindings/ssh.targets.yaml"));
        var ex = LoadFails("EstateFileNotAFile");
        Assert.Equal("ops/bindings/ssh.targets.yaml", ex.Location!.File);
    }

    [Fact]
    public void MultipleDocumentsAreRefused()
    {
        WriteManifest("version: 1\n---\nversion: 2\n");
        var ex = LoadFails("YamlMultipleDocuments");
        Assert.Equal(2, ex.Location!.Line);
    }

    [Fact]
    public void UnclosedFrontMatterIsLocated()
    {
        File.WriteAllText(FullPath("ops/governance/DEVICE_IDENTITY_SSOT.md"), "---\nstatus: x\n# Title\n");
        LoadFails("MarkdownFrontMatterUnclosed");
    }

    [Fact]
    public void BrokenFrontMatterYamlIsLocatedInTheMarkdownFile()
    {
        File.WriteAllText(FullPath("ops/governance/DEVICE_IDENTITY_SSOT.md"), "---\nstatus: ok\nowner: [x\n---\n# Title\n");
        var ex = LoadFails("YamlSyntaxError");
        Assert.Equal("ops/governance/DEVICE_IDENTITY_SSOT.md", ex.Location!.File);
        Assert.True(ex.Location.Line >= 3);
    }

    [Fact]
    public void DeepNestingIsRefused()
    {
        WriteManifest("x: " + new string('[', 500) + new string(']', 500) + "\n");
        LoadFails("YamlTooDeep");
    }

    [Fact]
    public void VeryDeepNestingCannotOverflowTheStack()
    {
        WriteManifest("x: " + new string('[', 200_000) + new string(']', 200_000) + "\n");
        LoadFails("YamlTooDeep");
    }

    [Fact]
    public void DeepBlockNestingIsRefused()
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            text.Append(new string(' ', i)).Append("k:\n");
        }
        text.Append(new string(' ', 300)).Append("v: 1\n");
        WriteManifest(text.ToString());
        LoadFails("YamlTooDeep");
    }

    /// <summary>Issue 16.6: every estate file (YAML, and the Markdown file's front matter) has the same limits.</summary>
    public static TheoryData<EstateFile, string> EveryFileAndAttack()
    {
        var data = new TheoryData<EstateFile, string>();
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            foreach (var attack in new[] { "flow nesting", "block nesting", "alias bomb" })
            {
                data.Add(file, attack);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryFileAndAttack))]
    public void EveryFileHasTheNestingAndAliasLimits(EstateFile file, string attack)
    {
        var (yaml, errorId) = attack switch
        {
            "flow nesting" => ("x: " + new string('[', 200_000) + new string(']', 200_000) + "\n", "YamlTooDeep"),
            "block nesting" => (string.Concat(Enumerable.Range(0, 300).Select(i => new string(' ', i) + "k:\n")) + new string(' ', 300) + "v: 1\n", "YamlTooDeep"),
            _ => ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", "YamlAliasNotAllowed"),
        };
        var relative = EstateLayoutLoader.Load(_estate.Root).RelativePath(file);
        File.WriteAllText(FullPath(relative), file == EstateFile.DeviceIdentity ? $"---\n{yaml}---\n\n# Devices\n" : yaml);
        var ex = LoadFails(errorId);
        Assert.Equal(relative, ex.Location!.File);
    }

    [Fact]
    public void ConfigWithBadYamlIsLocated()
    {
        File.WriteAllText(FullPath(EstateLayout.ConfigFile), "paths: [\n");
        var before = Snapshot();
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_estate.Root));
        Assert.Equal(EstateLayout.ConfigFile, ex.Location!.File);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void ConfigWithInvalidUtf8IsLocated()
    {
        File.WriteAllBytes(FullPath(EstateLayout.ConfigFile), [.. Encoding.UTF8.GetBytes("paths:\n  x: \""), 0xFF, (byte)'"', (byte)'\n']);
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_estate.Root));
        Assert.Equal("YamlInvalidEncoding", ex.ErrorId);
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 2, 7), ex.Location);
    }

    [Fact]
    public void FileJustUnderTheLimitIsRead()
    {
        // A 50,000-service manifest is about 12 MB: well under the default limit.
        Assert.True(LocatedYamlReaderLimit > 16L * 1024 * 1024);
    }

    private static long LocatedYamlReaderLimit => InfraRelocation.Core.Yaml.LocatedYamlReader.DefaultMaxBytes;

    [Fact]
    public void ConfigThatIsAFolderIsLocated()
    {
        File.Delete(FullPath(EstateLayout.ConfigFile));
        Directory.CreateDirectory(FullPath(EstateLayout.ConfigFile));
        var ex = Assert.Throws<RelocationException>(() => EstateLayoutLoader.Load(_estate.Root));
        Assert.Equal("EstateFileNotAFile", ex.ErrorId);
        Assert.Equal(new SourceLocation(EstateLayout.ConfigFile, 1, 1), ex.Location);
    }

    [Fact]
    public void LoaderSizeLimitCanBeLowered()
    {
        var layout = EstateLayoutLoader.Load(_estate.Root);
        var ex = Assert.Throws<RelocationException>(() => EstateLoader.Load(layout, null, maxBytes: 4096));
        Assert.Equal("YamlFileTooLarge", ex.ErrorId);
    }
}
