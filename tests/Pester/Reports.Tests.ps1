# Export-RelocationReport for a change board and for CI: it refuses what it cannot report, exports impact,
# rollback plan, preflight and readiness as well as gates; SARIF passes Microsoft's SARIF multitool with its GitHub
# rules; JUnit has time and line; JSON validates against its published schema; the HTML page opens in real
# headless Chromium with no console error, the expected cells and nodes in its DOM, and a screenshot for the docs.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:AsOf = [DateTimeOffset]'2026-11-26T00:00:00Z'
    $script:Root = New-TestEstate -Name reports
    $registry = Join-Path $Root 'ops/governance/SERVICE_REGISTRY.yaml'
    [IO.File]::WriteAllText($registry, ([regex]::Replace([IO.File]::ReadAllText($registry), '(?m)(?<=^  wiki:\r?\n    host: )app-core', 'docker-host')))
    $script:Gate = @(Invoke-RelocationGate -Root $Root -AsOf $AsOf)
    $script:Impact = @(Get-RelocationImpact -Root $Root)
    $script:Rollback = @(Get-RelocationRollbackPlan -Root $Root -Service wiki)
    # The checklist's receipt carries every item (the items themselves are also on the pipeline).
    $script:Checklist = @(Get-RelocationChecklist -Root $Root | Where-Object { $_ -is [InfraRelocation.Receipts.ChecklistReceipt] })
    $script:All = @($Gate) + @($Impact) + @($Rollback) + @($Checklist)

    # Tools the tests run: Microsoft's SARIF multitool from npm, cached under output/npm.
    $script:NpmPrefix = Join-Path $RepoRoot 'output' 'npm'
    $script:Multitool = Join-Path $NpmPrefix 'node_modules' '@microsoft' 'sarif-multitool-linux' 'Sarif.Multitool'
    $script:Chromium = '/usr/bin/chromium'
}

Describe 'What Export-RelocationReport accepts' {
    It 'refuses an object it cannot report, and writes nothing about nothing' {
        $manifest = Get-RelocationManifest -Root $Root
        $errs = $null
        try { $manifest | Export-RelocationReport -Format Markdown -ErrorVariable errs -ErrorAction SilentlyContinue } catch { $final = $_ }
        @($errs | Where-Object FullyQualifiedErrorId -Like 'UnsupportedReportInput,*') | Should -HaveCount 1
        $final.FullyQualifiedErrorId | Should -BeLike 'NothingToReport,*'
    }

    It 'reports a rollback plan and impact rows without pretending a gate passed' {
        $text = @($Impact) + @($Rollback) | Export-RelocationReport -Format Markdown
        $text | Should -Not -Match 'Result: \*\*PASS'
        $text | Should -Match '(?m)^## Impact$'
        $text | Should -Match '(?m)^## Rollback plan$'
        $text | Should -Match '(?m)^\| wiki \| ServiceRegistry \| \*\*change\*\* \| docker-host \| app-core \|'
    }

    It 'reports the checklists, one section each, every item once with its state, evidence and next command' {
        $text = Get-RelocationChecklist -Root $Root | Export-RelocationReport -Format Markdown
        $text | Should -Match '(?m)^## Checklist: Pre-Cutover \(\d+ of 12 done\)$'
        $text | Should -Match '(?m)^## Checklist: Post-Cutover \(0 of 5 done\)$'
        $text | Should -Match '(?m)^## Checklist: Post-Cleanup \(0 of 3 done\)$'
        $text | Should -Match '(?m)^\| 3 \| \*\*Missing\*\* \| Placement policy passes \(infra\.placement\.policy\) \| .* \| `Test-PlacementPolicy` \|$'
        # The items and the receipt that carries them: each item once.
        ([regex]::Matches($text, '(?m)^\| \d+ \| ')).Count | Should -Be 20
    }

    It 'draws the state machine and the rollback plan in Mermaid' {
        $text = $All | Export-RelocationReport -Format Markdown
        $text | Should -Match '(?ms)```mermaid\nstateDiagram-v2\n.*planning --> preflight.*class preflight current'
        $text | Should -Match '(?ms)```mermaid\nflowchart TD\n    s1\["1\. \w+ wiki'
        $text | Should -Match 's1 --> s2'
    }
}

Describe 'SARIF for GitHub code scanning' {
    BeforeAll {
        # The estate inside a git work tree (a .git folder), so locations are relative to the repository root.
        $script:Repo = Join-Path $TestDrive 'repo'
        New-Item -ItemType Directory (Join-Path $Repo '.git') -Force | Out-Null
        Copy-Item $Root (Join-Path $Repo 'infra') -Recurse
        $script:RepoGate = @(Invoke-RelocationGate -Root (Join-Path $Repo 'infra') -AsOf $AsOf)
        $script:SarifPath = Join-Path $TestDrive 'gates.sarif'
        $RepoGate | Export-RelocationReport -Format Sarif -Path $SarifPath | Out-Null
        $script:Sarif = Get-Content $SarifPath -Raw | ConvertFrom-Json
    }

    It 'describes every rule with fullDescription, help and helpUri, and names the automation' {
        $run = $Sarif.runs[0]
        $run.automationDetails.id | Should -Match '^InfraRelocation/'
        foreach ($rule in $run.tool.driver.rules) {
            $rule.fullDescription.text | Should -Not -BeNullOrEmpty
            $rule.help.text | Should -Not -BeNullOrEmpty
            $rule.help.markdown | Should -Match 'How to fix'
            $rule.helpUri | Should -Match '^https://'
        }
    }

    It 'places results relative to the repository root' {
        $location = $Sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation
        $location.uri | Should -Be 'infra/ops/bindings/infra.relocation.plan.yaml'
        $location.uriBaseId | Should -Be '%SRCROOT%'
    }

    It 'passes the SARIF multitool''s SARIF and GitHub rules with no error' {
        if (-not (Test-Path $Multitool)) {
            & npm install --prefix $NpmPrefix --no-audit --no-fund --silent '@microsoft/sarif-multitool@5.7.0' | Out-Host
            $LASTEXITCODE | Should -Be 0 -Because 'npm installs the multitool (.ci/run installs npm)'
        }
        # npm does not run the package's postinstall script that marks the binary executable.
        & chmod u+x $Multitool
        function Test-Sarif([string] $Path) {
            $log = Join-Path $TestDrive "validation-$([guid]::NewGuid().ToString('n')).sarif"
            & $Multitool validate $Path --rule-kind 'Sarif;Gh' --level 'Error;Warning;Note' --kind 'Fail' --output $log --log ForceOverwrite --quiet | Out-Host
            $validation = Get-Content $log -Raw | ConvertFrom-Json
            $validation.runs[0].tool.driver.name | Should -Be 'Sarif.Multitool'
            @($validation.runs[0].results | Where-Object level -In 'error', 'warning' | ForEach-Object { "$($_.ruleId): $($_.message.text)" })
        }
        Test-Sarif $SarifPath | Should -BeNullOrEmpty
        # The check can fail: without locations GitHub cannot show a result, and the GitHub rules say so.
        $broken = Get-Content $SarifPath -Raw | ConvertFrom-Json -Depth 50
        foreach ($result in $broken.runs[0].results) { $result.locations = @() }
        $brokenPath = Join-Path $TestDrive 'broken.sarif'
        $broken | ConvertTo-Json -Depth 50 | Set-Content $brokenPath
        (Test-Sarif $brokenPath) -match '^GH\d+' | Should -Not -BeNullOrEmpty
    }
}

Describe 'JUnit and JSON' {
    It 'JUnit carries time on suites and cases, and the line of a failure' {
        [xml] $xml = $Gate | Export-RelocationReport -Format JUnit
        $xml.testsuites.time | Should -Match '^\d+\.\d{3}$'
        $failed = $xml.SelectNodes('//testcase[failure]') | Select-Object -First 1
        $failed.line | Should -Match '^\d+$'
        $failed.file | Should -Be 'ops/bindings/infra.relocation.plan.yaml'
        @($xml.SelectNodes('//testcase[not(@time)]')) | Should -HaveCount 0
    }

    It 'JSON names its schema version and validates against docs/schemas/report.schema.json' {
        $text = $All | Export-RelocationReport -Format Json
        $json = $text | ConvertFrom-Json
        $json.schemaVersion | Should -Be '1.0'
        $json.impact.Count | Should -Be $Impact.Where({ $_ -is [InfraRelocation.Gates.ImpactItem] }).Count
        $json.rollback[0].order | Should -Be 1
        $json.checklist.Count | Should -Be 20
        $json.checklist[0].id | Should -Be 'PRE.ManifestComplete'
        $json.checklist[0].state | Should -Be 'Done'
        Test-Json -Json $text -SchemaFile (Join-Path $RepoRoot 'docs' 'schemas' 'report.schema.json') | Should -BeTrue
        # The validator is real: a report missing a required field fails it.
        Test-Json -Json ($text -replace '"schemaVersion"', '"schemaVersionX"') -SchemaFile (Join-Path $RepoRoot 'docs' 'schemas' 'report.schema.json') -ErrorAction SilentlyContinue | Should -BeFalse
    }
}

Describe 'HTML in headless Chromium' {
    BeforeAll {
        $script:HtmlPath = Join-Path $TestDrive 'report.html'
        $All | Export-RelocationReport -Format Html -Path $HtmlPath | Out-Null
        $script:ChromeArgs = @('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND', "--user-data-dir=$(Join-Path $TestDrive 'chrome-profile')")
    }

    It 'is one self-contained file: nothing is loaded from anywhere' {
        $html = Get-Content $HtmlPath -Raw
        $html | Should -Not -Match '<(script|link|img|iframe)\b[^>]*\b(src|href)\s*='
        $html | Should -Match "default-src 'none'"
    }

    It 'renders the state, the impact matrix and the rollback graph with no console error' {
        if (-not (Test-Path $Chromium)) { Set-ItResult -Skipped -Because 'chromium is not installed (.ci/run installs it)'; return }
        $stderr = Join-Path $TestDrive 'chromium.log'
        $dom = & $Chromium @ChromeArgs '--enable-logging=stderr' '--v=0' '--dump-dom' ([Uri]::new($HtmlPath).AbsoluteUri) 2> $stderr
        $dom = $dom -join "`n"
        $dom | Should -Match '<g class="state current" data-state="preflight">'
        $dom | Should -Match '<td class="fail" data-service="wiki" data-surface="ServiceRegistry"'
        $dom | Should -Match '<td class="pass" data-service="wiki" data-surface="SshTargets"'
        $dom | Should -Match '<g class="step \w+" data-order="1" data-service="wiki">'
        $dom | Should -Match '<section id="checklist-precutover"><h2>Checklist: Pre-Cutover \(\d+ of 12 done\)</h2>'
        $dom | Should -Match '<td class="pass">Done</td><td>Manifest complete with all services and phases</td>'
        ([regex]::Matches($dom, '<g class="step ')).Count | Should -Be @($Rollback | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] }).Count
        @(Get-Content $stderr | Where-Object { $_ -match 'CONSOLE|Uncaught|Refused to' }) | Should -BeNullOrEmpty
    }

    It 'renders a screenshot (output/TestResults; docs/images/report-html.png is a reviewed copy of it)' {
        if (-not (Test-Path $Chromium)) { Set-ItResult -Skipped -Because 'chromium is not installed (.ci/run installs it)'; return }
        # A test run leaves the clone clean: the screenshot goes to the build output, and refreshing the docs'
        # copy is a deliberate commit.
        $png = Join-Path $RepoRoot 'output' 'TestResults' 'report-html.png'
        New-Item -ItemType Directory -Force (Split-Path $png) | Out-Null
        & $Chromium @ChromeArgs '--window-size=1280,1600' '--hide-scrollbars' "--screenshot=$png" ([Uri]::new($HtmlPath).AbsoluteUri) 2>$null | Out-Null
        (Get-Item $png).Length | Should -BeGreaterThan 10KB
        [IO.File]::ReadAllBytes($png)[1..3] | Should -Be ([byte[]][char[]]'PNG')
    }
}
