# The error catalog (docs/en-US/about_InfraRelocation_Errors.md) lists every error id and rule id the code can
# raise, each once, with one meaning; every error id has a RecommendedAction, which error records carry.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $catalogPath = 'docs/en-US/about_InfraRelocation_Errors.md'

    function Read-ErrorCatalog([string] $Path) {
        # '## ERROR IDS' / '## RULE IDS' sections of '### Id' entries: meaning paragraph, then 'Action: ...'.
        $entries = [ordered]@{}
        $section = $null
        $entry = $null
        $number = 0
        foreach ($line in [IO.File]::ReadAllLines($Path)) {
            $number++
            if ($line -match '^## (.+)$') { $section = $Matches[1].Trim(); $entry = $null; continue }
            if ($line -match '^### (.+)$') {
                $id = $Matches[1].Trim()
                if ($entries.Contains($id)) { throw "${Path}:${number}: '$id' is listed twice (first at line $($entries[$id].Line))." }
                $entry = [pscustomobject]@{ Id = $id; Section = $section; Line = $number; Meaning = ''; Action = '' }
                $entries[$id] = $entry
                continue
            }
            if (-not $entry -or -not $line.Trim()) { continue }
            if ($line -match '^Action:\s*(.*)$') { $entry.Action = $Matches[1].Trim() }
            else { $entry.Meaning = "$($entry.Meaning) $($line.Trim())".Trim() }
        }
        $entries
    }

    function Find-RaisedId([string] $SourceRoot) {
        # Every way the code creates an id, with where it does. Error ids (PascalCase):
        #   new RelocationException("Id", FailureKind.X, ...), Fail("Id", FailureKind.X, ...),
        #   ("Id", FailureKind.X) tuples, cond ? "A" : "B" before FailureKind, new ErrorRecord(ex, "Id", ErrorCategory.X, ...),
        #   new GateFailure("Id", ...), new PromotionRefusal("Id", ...).
        # Rule ids: any "GATE.Rule" literal (GATE = D + digits or 3+ capitals); "GATE.Prefix" + x and
        #   $"GATE.Prefix{x}" build a family whose members the catalog lists by that prefix.
        $errorPatterns = @(
            '"(?<id>[A-Z][A-Za-z0-9]+)"\s*,\s*FailureKind\.'
            '"(?<id>[A-Z][A-Za-z0-9]+)"\s*:\s*"[A-Z][A-Za-z0-9]+"\s*,\s*FailureKind\.'
            '"(?<id>[A-Z][A-Za-z0-9]+)"\s*,\s*ErrorCategory\.'
            'new\s+(?:GateFailure|PromotionRefusal)\(\s*"(?<id>[A-Z][A-Za-z0-9]+)"'
        )
        $rulePattern = '(?<!\$)"(?<id>(?:D\d+|[A-Z]{3,})\.[A-Z][A-Za-z0-9]*)"(?!\s*\+)'
        # Dotted literals of that shape that are not rule ids: Proxmox privilege names.
        $notRuleIds = @('SDN.Use')
        $familyPatterns = @(
            '"(?<id>(?:D\d+|[A-Z]{3,})\.[A-Za-z0-9]*)"\s*\+'
            '\$"(?<id>(?:D\d+|[A-Z]{3,})\.[A-Za-z0-9]*)\{'
        )
        $found = [Collections.Generic.List[object]]::new()
        foreach ($file in Get-ChildItem $SourceRoot -Recurse -Filter '*.cs' | Where-Object FullName -NotMatch '[\\/](bin|obj)[\\/]') {
            $text = [IO.File]::ReadAllText($file.FullName)
            $relative = [IO.Path]::GetRelativePath($RepoRoot, $file.FullName) -replace '\\', '/'
            $add = {
                param($kind, $pattern)
                foreach ($match in [regex]::Matches($text, $pattern)) {
                    if ($kind -eq 'Rule' -and $match.Groups['id'].Value -in $notRuleIds) { continue }
                    $line = ($text.Substring(0, $match.Index) -split "`n").Count
                    $found.Add([pscustomobject]@{ Kind = $kind; Id = $match.Groups['id'].Value; At = "${relative}:$line" })
                }
            }
            foreach ($pattern in $errorPatterns) { & $add 'Error' $pattern }
            & $add 'Rule' $rulePattern
            foreach ($pattern in $familyPatterns) { & $add 'Family' $pattern }
        }
        $found
    }

    $catalog = Read-ErrorCatalog (Join-Path $RepoRoot $catalogPath)
    $raised = Find-RaisedId (Join-Path $RepoRoot 'src')
}

Describe 'The error catalog' {
    It 'finds the ids the code raises (the scanner still recognises how ids are made)' {
        @($raised | Where-Object Kind -EQ 'Error').Count | Should -BeGreaterThan 100
        @($raised | Where-Object Kind -EQ 'Rule').Count | Should -BeGreaterThan 100
        $raised.Id | Should -Contain 'EstateRootNotFound'
        $raised.Id | Should -Contain 'D35.RegistryHostMismatch'
    }

    It 'lists every error id the code can raise' {
        $missing = @($raised | Where-Object { $_.Kind -eq 'Error' -and -not ($catalog.Contains($_.Id) -and $catalog[$_.Id].Section -eq 'ERROR IDS') } |
                Group-Object Id | ForEach-Object {
                    "add '### $($_.Name)' (its meaning, then an 'Action:' line) under '## ERROR IDS' in $catalogPath; raised at $($_.Group.At -join ', ')"
                })
        $missing | Should -BeNullOrEmpty
    }

    It 'lists every rule id the code can report' {
        $missing = @($raised | Where-Object { $_.Kind -eq 'Rule' -and -not ($catalog.Contains($_.Id) -and $catalog[$_.Id].Section -eq 'RULE IDS') } |
                Group-Object Id | ForEach-Object { "add '### $($_.Name)' (its meaning) under '## RULE IDS' in $catalogPath; reported at $($_.Group.At -join ', ')" })
        $missing | Should -BeNullOrEmpty
    }

    It 'lists the members of every rule id family built at run time' {
        $missing = @($raised | Where-Object Kind -EQ 'Family' | Where-Object {
                $prefix = $_.Id
                -not @($catalog.Keys | Where-Object { $_.StartsWith($prefix, [StringComparison]::Ordinal) -and $_.Length -gt $prefix.Length })
            } | ForEach-Object { "add a '### $($_.Id)<member>' entry for each id built at $($_.At) under '## RULE IDS' in $catalogPath" })
        $missing | Should -BeNullOrEmpty
    }

    It 'lists no id the code no longer raises' {
        $families = @($raised | Where-Object Kind -EQ 'Family' | ForEach-Object Id)
        $stale = @($catalog.Values | Where-Object {
                $id = $_.Id
                $id -notin $raised.Id -and -not @($families | Where-Object { $id.StartsWith($_, [StringComparison]::Ordinal) })
            } | ForEach-Object { "remove '### $($_.Id)' ($catalogPath line $($_.Line)): no code raises it" })
        $stale | Should -BeNullOrEmpty
    }

    It 'gives every id a meaning, and every error id a recommended action' {
        $incomplete = @($catalog.Values | Where-Object { -not $_.Meaning -or ($_.Section -eq 'ERROR IDS' -and -not $_.Action) } |
                ForEach-Object { "'### $($_.Id)' ($catalogPath line $($_.Line)) needs $(if (-not $_.Meaning) { 'a meaning' } else { "an 'Action:' line" })" })
        $incomplete | Should -BeNullOrEmpty
    }

    It 'gives no two ids the same meaning' {
        $same = @($catalog.Values | Group-Object { $_.Meaning.ToLowerInvariant() -replace '\W+', ' ' } | Where-Object Count -GT 1 |
                ForEach-Object { "$(($_.Group.Id) -join ' and ') mean the same: merge them into one id and list the rename in CHANGELOG.md" })
        $same | Should -BeNullOrEmpty
    }

    It 'no longer raises an id that CHANGELOG.md lists as renamed' {
        $renames = @(Get-Content (Join-Path $RepoRoot 'CHANGELOG.md') | Where-Object { $_ -match '^\|\s*`(\w[\w.]*)`\s*\|\s*`(\w[\w.]*)`\s*\|' } |
                ForEach-Object { [pscustomobject]@{ Old = $Matches[1]; New = $Matches[2] } })
        $renames.Count | Should -BeGreaterThan 0
        foreach ($rename in $renames) {
            $raised.Id | Should -Not -Contain $rename.Old -Because "CHANGELOG.md renames $($rename.Old) to $($rename.New)"
            $catalog.Contains($rename.Old) | Should -BeFalse -Because "$($rename.Old) was renamed to $($rename.New)"
            $catalog.Contains($rename.New) | Should -BeTrue -Because "$($rename.New) replaces $($rename.Old)"
        }
    }
}

Describe 'Errors carry the catalog''s recommended action' {
    It 'fills RecommendedAction of an estate error from the catalog' {
        $empty = Join-Path $TestDrive 'not-an-estate'
        New-Item -ItemType Directory $empty | Out-Null
        $err = $null
        try { Get-RelocationManifest -Root $empty -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ManifestMissing,*'
        $err.ErrorDetails.RecommendedAction | Should -Be $catalog['ManifestMissing'].Action
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'fills RecommendedAction of a non-terminating error too' {
        # The unsupported item is a non-terminating error; the report about nothing that follows stops the command.
        try { $null = 'not a receipt' | Export-RelocationReport -Format Json -Path (Join-Path $TestDrive 'r.json') -ErrorVariable errors -ErrorAction SilentlyContinue } catch { }
        $errors | Should -Not -BeNullOrEmpty
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedReportInput,*'
        $errors[0].ErrorDetails.RecommendedAction | Should -Be $catalog['UnsupportedReportInput'].Action
    }

    It 'is shipped as Get-Help about_InfraRelocation_Errors' {
        $text = Get-Help about_InfraRelocation_Errors | Out-String
        $text | Should -Match 'EstateRootNotFound'
        $text | Should -Match 'D35\.RegistryHostMismatch'
    }
}
