import { MissingChannels } from '../../components/EmptyState';
import { PageLayout } from '../../components/Layout';

export function ModelsPage() {
  return (
    <PageLayout title="Models" testId="page-models">
      <MissingChannels what="Models" channels={[]} />
    </PageLayout>
  );
}
